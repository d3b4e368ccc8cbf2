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

// ReadsEnv marks cmd and the commands under it as reading the
// environment variables, given any flags (FLYTRAP_TOKEN).
func ReadsEnv(cmd *cobra.Command, variables ...string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[readsEnv] = strings.Join(append(strings.Fields(cmd.Annotations[readsEnv]), variables...), " ")
}

// utf8Env refuses an environment variable cmd reads that is not UTF-8,
// naming it: those of its flags not given (EnvDefault), and those it or
// a command above it reads (ReadsEnv).
func utf8Env(cmd *cobra.Command, getenv func(string) string) error {
	var vars []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed && f.Annotations[pathFlag] == nil {
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
