package cmdutil

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Cobra's own messages for arguments and flag groups ("accepts 1 arg(s),
// received 0", "if any flags in the group [...] are set none of the others
// can be ...") say neither what is missing nor how to call the command.
// GuardUsage gives every command messages that do, from its Use line, its
// example and its flag groups, so no command has to word them itself.

// GuardUsage wraps the argument validator of c and of every command under
// it so that a wrong count of arguments is a usage error naming what the
// command takes (see ArgsError), and checks their mutually exclusive
// flags before cobra does, naming the flags given together (see
// MutuallyExclusive) and their --jq expression, before anything is sent,
// and that the arguments, the flags given and the environment variables
// read (see EnvDefault, ReadsEnv; getenv reads them) are UTF-8.
// Errors that are already *Error pass as they are. A run whose change the
// server may or may not have made gets the command that reads it back
// (see CheckWith).
func GuardUsage(c *cobra.Command, getenv func(string) string) {
	if valid := c.Args; valid != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := valid(cmd, args)
			if err == nil || isError(err) {
				return err
			}
			if e := ArgsError(cmd, useArgs(cmd.Use), args); e != nil {
				return e
			}
			// The validator checks more than the count the Use
			// line names: its message, with the usage.
			return UsageError(err.Error(), usageHint(cmd))
		}
	}
	exclusive, jq := hasExclusiveFlags(c), c.Flags().Lookup("jq") != nil
	if c.Runnable() {
		pre, preE := c.PreRun, c.PreRunE
		c.PreRunE = func(cmd *cobra.Command, args []string) error {
			if cmd.Annotations[PathArgs] == "" {
				if err := utf8Args(args); err != nil {
					return err
				}
			}
			if err := utf8Flags(cmd.Flags()); err != nil {
				return err
			}
			if err := utf8Env(cmd, getenv); err != nil {
				return err
			}
			if exclusive {
				if err := exclusiveFlags(cmd); err != nil {
					return err
				}
			}
			// Compiled again when printing; here, so that a mistake in
			// it is a usage error before a command changes anything
			// (issues resolve, tokens create), not after.
			if f := cmd.Flags().Lookup("jq"); jq && f.Changed {
				if _, err := CompileJQ(f.Value.String()); err != nil {
					return err
				}
			}
			switch {
			case preE != nil:
				return preE(cmd, args)
			case pre != nil:
				pre(cmd, args)
			}
			return nil
		}
	}
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			return withCheck(cmd, args, run(cmd, args))
		}
	}
	for _, sub := range c.Commands() {
		GuardUsage(sub, getenv)
	}
}

func isError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// useArgs is the arguments part of a Use line: "<project> <email>" of
// "add <project> <email>".
func useArgs(use string) string {
	_, args, _ := strings.Cut(use, " ")
	return args
}

// argument is one argument of a Use line.
type argument struct {
	noun     string // "issue ID" of <issue-id>
	optional bool   // [URL]
	variadic bool   // <issue-id>...
}

// parseArgs reads a Use line's arguments: <required>, [optional], either
// followed by ... when it repeats; a bare word (DIR) is required.
func parseArgs(use string) []argument {
	var as []argument
	for _, f := range strings.Fields(use) {
		a := argument{optional: strings.HasPrefix(f, "["), variadic: strings.Contains(f, "...")}
		name := strings.Trim(strings.ReplaceAll(f, "...", ""), "<>[]")
		words := strings.Fields(strings.ReplaceAll(name, "-", " "))
		for i, w := range words {
			if w == "id" {
				words[i] = "ID"
			}
		}
		a.noun = strings.ReplaceAll(strings.Join(words, " "), "|", " or ")
		as = append(as, a)
	}
	return as
}

// withArticle is noun after its indefinite article: "an email", "a
// project", "an ID", "a URL"; alternatives ("admin or member") have none.
func withArticle(noun string) string {
	switch {
	case noun == "" || strings.Contains(noun, " or "):
		return noun
	case noun[0] >= 'A' && noun[0] <= 'Z':
		// Initialisms are said letter by letter: an ID, a URL.
		if strings.ContainsRune("AEFHILMNORSX", rune(noun[0])) {
			return "an " + noun
		}
		return "a " + noun
	case strings.ContainsRune("aeio", rune(noun[0])):
		return "an " + noun
	}
	return "a " + noun
}

// phrase lists the arguments as a sentence says them: "a project and an
// email", "at least one issue ID", "an optional URL".
func phrase(as []argument) string {
	parts := make([]string, len(as))
	for i, a := range as {
		switch {
		case a.variadic && !a.optional:
			parts[i] = "at least one " + a.noun
		case a.variadic:
			parts[i] = "any number of " + a.noun + "s"
		case a.optional:
			parts[i] = "an optional " + a.noun
		default:
			parts[i] = withArticle(a.noun)
		}
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// ArgsError is the usage error for args given to cmd when it takes the
// arguments use names ("<project> <email>", as in a Use line), or nil when
// their count fits. The message names what is missing or too much; the
// hint is the command's first example, else its usage line.
func ArgsError(cmd *cobra.Command, use string, args []string) *Error {
	as := parseArgs(use)
	least, most := 0, len(as)
	for _, a := range as {
		if !a.optional {
			least++
		}
		if a.variadic {
			most = -1
		}
	}
	name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	var msg string
	switch {
	case len(args) < least && len(args) == 0:
		msg = fmt.Sprintf("%s needs %s", name, phrase(as))
	case len(args) < least:
		msg = fmt.Sprintf("%s needs %s; got only %s", name, phrase(as), quoted(args))
	case most >= 0 && len(args) > most && most == 0:
		msg = fmt.Sprintf("%s takes no arguments; got %s", name, quoted(args))
	case most >= 0 && len(args) > most:
		msg = fmt.Sprintf("%s takes %s; got %d arguments: %s", name, phrase(as), len(args), quoted(args))
	default:
		return nil
	}
	hint := usageHint(cmd)
	if most == 0 {
		hint = "it takes flags only: see `" + cmd.CommandPath() + " --help`"
	}
	return &Error{Msg: msg, Hint: hint, Code: ExitUsage}
}

// usageHint is how to call cmd: the first line of its examples that runs
// it (some show a workflow, other commands first), else its usage line.
func usageHint(cmd *cobra.Command) string {
	path := cmd.CommandPath()
	for _, line := range strings.Split(cmd.Example, "\n") {
		if strings.Contains(line+" ", path+" ") {
			return "for example: " + strings.TrimSpace(line)
		}
	}
	return "usage: " + cmd.UseLine()
}

// quoted is args as a shell would take them back.
func quoted(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = ShellArg(a)
	}
	return strings.Join(q, " ")
}

// mutuallyExclusive is the annotation cobra's MarkFlagsMutuallyExclusive
// puts on each flag of a group, one space-separated group per value;
// cobra keeps the name unexported, and TestGuardUsage fails if it changes.
const mutuallyExclusive = "cobra_annotation_mutually_exclusive"

// exclusiveHintKey prefixes the annotation of cmd in which
// MutuallyExclusive keeps a group's hint.
const exclusiveHintKey = "flytrap_exclusive_hint "

// MutuallyExclusive marks flags of cmd that cannot be given together, as
// cobra's MarkFlagsMutuallyExclusive does (shell completion then leaves
// the others out), with the hint GuardUsage's error gives when they are:
// why, and what to do instead.
func MutuallyExclusive(cmd *cobra.Command, hint string, flags ...string) {
	cmd.MarkFlagsMutuallyExclusive(flags...)
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[exclusiveHintKey+strings.Join(flags, " ")] = hint
}

func hasExclusiveFlags(cmd *cobra.Command) bool {
	found := false
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		found = found || len(f.Annotations[mutuallyExclusive]) > 0
	})
	return found
}

// exclusiveFlags is the usage error for flags of one mutually exclusive
// group given together, or nil.
func exclusiveFlags(cmd *cobra.Command) error {
	var groups []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		for _, g := range f.Annotations[mutuallyExclusive] {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	})
	for _, g := range groups {
		var set []string
		for _, name := range strings.Fields(g) {
			if cmd.Flags().Changed(name) {
				set = append(set, "--"+name)
			}
		}
		if len(set) < 2 {
			continue
		}
		together := strings.Join(set[:len(set)-1], ", ") + " and " + set[len(set)-1]
		hint, ok := cmd.Annotations[exclusiveHintKey+g]
		if !ok {
			hint = "give one of them; `" + cmd.CommandPath() + " --help` says what each does"
		}
		return UsageError(together+" cannot be used together", hint)
	}
	return nil
}

// PathArgs is the annotation of a command whose arguments are paths,
// which on Unix may be any bytes: GuardUsage leaves their encoding alone.
const PathArgs = "flytrap/path-args"

// utf8Args refuses an argument that is not UTF-8 (a name or a version in
// Latin-1, from a terminal or a script in another encoding): sent as JSON
// its bytes would become U+FFFD, and the project, release or user be
// created under a name nobody typed.
func utf8Args(args []string) error {
	for i, a := range args {
		if !utf8.ValidString(a) {
			return UsageError(fmt.Sprintf("argument %d, %s, is not UTF-8 text", i+1, strconv.QuoteToASCII(a)),
				"names, versions and text are UTF-8: check the encoding of your terminal or script (locale, LANG)")
		}
	}
	return nil
}

// pathFlag is the annotation of a flag whose value is a path.
const pathFlag = "flytrap/path"

// MarkPaths marks the flags of fs named names as paths, which on Unix may
// be any bytes: GuardUsage leaves their encoding alone.
func MarkPaths(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		if err := fs.SetAnnotation(n, pathFlag, []string{"yes"}); err != nil {
			panic(err) // a flag renamed and not here: caught by any test
		}
	}
}

// utf8Flags refuses a flag value given that is not UTF-8, as utf8Args
// does an argument, naming the flag; paths may be any bytes.
func utf8Flags(fs *pflag.FlagSet) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if err != nil || f.Annotations[pathFlag] != nil {
			return
		}
		values := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			values = sv.GetSlice()
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				err = UsageError(fmt.Sprintf("--%s is not UTF-8 text: %s", f.Name, shownValue(f.Name, v)),
					"names, versions and text are UTF-8: check the encoding of your terminal or script (locale, LANG)")
				return
			}
		}
	})
	return err
}

// CompleteFiles completes arguments with the shell's file names: the
// ValidArgsFunction of a command whose arguments are paths, which the
// root leaves as it is where it turns file completion off for the others.
func CompleteFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}
