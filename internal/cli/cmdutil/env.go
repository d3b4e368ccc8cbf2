package cmdutil

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Settings from the environment reach the server as flags do, and are
// held to the same rule: text is UTF-8. GuardUsage checks the variables
// a command reads, which these annotations name, before anything is
// sent; a path's variable (FLYTRAP_DATA_DIR, FLYTRAP_CONFIG_DIR) is
// named by none, as a path flag's value is not checked.

// envDefault is the annotation of a flag whose value, when it is not
// given, is an environment variable's.
const envDefault = "flytrap/env-default"

// readsEnv is the annotation of a command that reads environment
// variables whatever its flags, space-separated; its subcommands read
// them too.
const readsEnv = "flytrap/reads-env"

// EnvDefault marks flag of fs as taking, when it is not given, the value
// of the environment variable, whether as its default or read when run.
func EnvDefault(fs *pflag.FlagSet, flag, variable string) {
	if err := fs.SetAnnotation(flag, envDefault, []string{variable}); err != nil {
		panic(err) // a flag renamed and not here: caught by any test
	}
}

// envUnless is the annotation of a flag whose variable (EnvDefault) is
// not read when any of the flags it names is given.
const envUnless = "flytrap/env-unless"

// envOnlyWith is the annotation of a flag whose variable (EnvDefault) is
// read only when one of the sources it names is given.
const envOnlyWith = "flytrap/env-only-with"

// EnvUnless marks the variable of flag of fs (EnvDefault) as not read
// when any of the flags others is given, which ask for something else:
// login keeps FLYTRAP_TOKEN only when no other way to log in is given.
func EnvUnless(fs *pflag.FlagSet, flag string, others ...string) {
	if err := fs.SetAnnotation(flag, envUnless, others); err != nil {
		panic(err) // a flag renamed and not here: caught by any test
	}
}

// EnvOnlyWith marks the variable of flag of fs (EnvDefault) as read only
// when one of sources is given: a flag by its name ("dsn"), or an
// environment variable, when not empty, by its name after a $
// ("$FLYTRAP_DSN"). bench reads FLYTRAP_URL only with a DSN it was given.
func EnvOnlyWith(fs *pflag.FlagSet, flag string, sources ...string) {
	if err := fs.SetAnnotation(flag, envOnlyWith, sources); err != nil {
		panic(err) // a flag renamed and not here: caught by any test
	}
}

// ReadsEnv marks cmd and the commands under it as reading the
// environment variables, given any flags (FLYTRAP_TOKEN).
func ReadsEnv(cmd *cobra.Command, variables ...string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[readsEnv] = strings.Join(append(strings.Fields(cmd.Annotations[readsEnv]), variables...), " ")
}

// utf8Env refuses an environment variable cmd reads that is not UTF-8,
// naming it: those of its flags not given whose variable the flags given
// leave to be read (EnvDefault, EnvUnless, EnvOnlyWith), and those it or
// a command above it reads (ReadsEnv). A variable the run does not read
// is left alone, whatever it holds: a command must not fail for a
// setting meant for another. A group's own run, which prints its help or
// refuses a word that is none of its commands, reads none.
func utf8Env(cmd *cobra.Command, getenv func(string) string) error {
	if cmd.HasSubCommands() {
		return nil
	}
	var vars []string
	fs := cmd.Flags()
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Changed && f.Annotations[pathFlag] == nil && envRead(fs, f, getenv) {
			vars = append(vars, f.Annotations[envDefault]...)
		}
	})
	for c := cmd; c != nil; c = c.Parent() {
		vars = append(vars, strings.Fields(c.Annotations[readsEnv])...)
	}
	for _, name := range vars {
		if v := getenv(name); !utf8.ValidString(v) {
			return UsageError(fmt.Sprintf("%s is not UTF-8 text: %s", name, shownValue(name, v)),
				"names, URLs and tokens are UTF-8: check how "+name+" is set (its script's encoding, locale, LANG), or unset it")
		}
	}
	return nil
}

// envRead reports whether the variable of f, a flag of fs not given, is
// read given the other flags and the environment (EnvUnless,
// EnvOnlyWith).
func envRead(fs *pflag.FlagSet, f *pflag.Flag, getenv func(string) string) bool {
	for _, other := range f.Annotations[envUnless] {
		if fs.Changed(other) {
			return false
		}
	}
	with := f.Annotations[envOnlyWith]
	for _, s := range with {
		if v, ok := strings.CutPrefix(s, "$"); ok && getenv(v) != "" || !ok && fs.Changed(s) {
			return true
		}
	}
	return len(with) == 0
}

// shownValue is how an error shows the value v of a variable or flag
// named name: quoted, unless it may hold a secret (a token, a password, a
// URL's credentials), which would land in a terminal's scrollback or a CI
// log.
func shownValue(name, v string) string {
	n := strings.ToUpper(name)
	if strings.HasSuffix(n, "TOKEN") || strings.HasSuffix(n, "PASSWORD") || strings.Contains(v, "@") {
		return fmt.Sprintf("%d bytes, not shown as it may hold a secret", len(v))
	}
	return strconv.QuoteToASCII(v)
}
