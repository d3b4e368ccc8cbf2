package cmdutil

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestArgsError(t *testing.T) {
	tests := []struct {
		use, example string
		args         []string
		msg, hint    string // "" msg: the arguments fit
	}{
		{"view <issue-id>", "  flytrap x view 42", nil, "x view needs an issue ID", "for example: flytrap x view 42"},
		{"view <issue-id>", "", []string{"1"}, "", ""},
		{"view <issue-id>", "", []string{"1", "2"}, "x view takes an issue ID; got 2 arguments: 1 2", "usage: flytrap x view <issue-id>"},
		{"resolve <issue-id>...", "", nil, "x resolve needs at least one issue ID", "usage: flytrap x resolve <issue-id>..."},
		{"resolve <issue-id>...", "", []string{"1", "2", "3"}, "", ""},
		{"add <project> <email>", "  flytrap y other\n  flytrap x add web a@b", []string{"web"}, "x add needs a project and an email; got only web", "for example: flytrap x add web a@b"},
		{"role <email> <admin|member>", "", nil, "x role needs an email and admin or member", "usage: flytrap x role <email> <admin|member>"},
		{"login [URL]", "", []string{"a", "b c"}, "x login takes an optional URL; got 2 arguments: a 'b c'", "usage: flytrap x login [URL]"},
		{"revoke <id>", "", nil, "x revoke needs an ID", "usage: flytrap x revoke <id>"},
		{"upload DIR", "", nil, "x upload needs a DIR", "usage: flytrap x upload DIR"},
		{"tail", "  flytrap x tail", []string{"now"}, "x tail takes no arguments; got now", "it takes flags only: see `flytrap x tail --help`"},
	}
	for _, tt := range tests {
		root := &cobra.Command{Use: "flytrap"}
		group := &cobra.Command{Use: "x"}
		c := &cobra.Command{Use: tt.use, Example: tt.example, Run: func(*cobra.Command, []string) {}}
		root.AddCommand(group)
		group.AddCommand(c)
		e := ArgsError(c, useArgs(tt.use), tt.args)
		switch {
		case tt.msg == "" && e != nil:
			t.Errorf("%q %q: %v, want no error", tt.use, tt.args, e)
		case tt.msg != "" && (e == nil || e.Msg != tt.msg || e.Hint != tt.hint || e.Code != ExitUsage):
			t.Errorf("%q %q: %+v, want %q with the hint %q", tt.use, tt.args, e, tt.msg, tt.hint)
		}
	}
}
