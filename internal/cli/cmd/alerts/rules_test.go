package alerts

import (
	"errors"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// TestPickChannel is QA's channel named "13": --channel 13 went to the
// channel whose ID is 13 without a word. A bare number that is one
// channel's ID and another's name is refused, saying how to choose; id:N
// and name:NAME choose; a bare value that only one channel answers to is
// that channel, as before.
func TestPickChannel(t *testing.T) {
	cs := []apitypes.AlertChannel{
		{ID: 12, Name: "team"},
		{ID: 13, Name: "ops"},
		{ID: 14, Name: "13"},
		{ID: 15, Name: "15"},
		{ID: 16, Name: "99"},
		{ID: 17, Name: "id:3"},
	}
	for _, tc := range []struct {
		arg  string
		want int64
		code int
		msg  string
		hint string
	}{
		{arg: "13", code: cmdutil.ExitUsage, msg: `--channel 13 is ambiguous: it is the ID of channel "ops" and the name of channel 14`, hint: "say which: --channel id:13 or --channel name:13"},
		{arg: "id:13", want: 13},
		{arg: "name:13", want: 14},
		{arg: "15", want: 15},   // its own ID and name: one channel
		{arg: "12", want: 12},   // an ID no channel is named
		{arg: "99", want: 16},   // a name no channel has as ID
		{arg: "TEAM", want: 12}, // names in any case
		{arg: "name:Ops", want: 13},
		{arg: "name:id:3", want: 17}, // a name that looks like the id: form
		{arg: "id:99", code: cmdutil.ExitNotFound, msg: "no alert channel with ID 99 in web"},
		{arg: "name:12", code: cmdutil.ExitNotFound, msg: `no alert channel named "12" in web`},
		{arg: "id:ops", code: cmdutil.ExitUsage, msg: `--channel "id:ops": id: takes a channel's ID, a whole number`},
		{arg: "id:", code: cmdutil.ExitUsage, msg: "id: takes a channel's ID"},
		{arg: "nope", code: cmdutil.ExitNotFound, msg: `no alert channel "nope" in web`},
		{arg: "3", code: cmdutil.ExitNotFound, msg: `no alert channel "3" in web`},
	} {
		ch, err := pickChannel(cs, "web", tc.arg)
		if tc.code == 0 {
			if err != nil || ch.ID != tc.want {
				t.Errorf("--channel %s = %d, %v; want channel %d", tc.arg, ch.ID, err, tc.want)
			}
			continue
		}
		var ce *cmdutil.Error
		if !errors.As(err, &ce) || ce.Code != tc.code || !strings.Contains(ce.Msg, tc.msg) || !strings.Contains(ce.Hint, tc.hint) {
			t.Errorf("--channel %s = %d, %#v; want exit code %d with %q (hint %q)", tc.arg, ch.ID, err, tc.code, tc.msg, tc.hint)
		}
	}

	// Two channels of one name (from before names were unique): the
	// refusal tells how to give an ID.
	dup := []apitypes.AlertChannel{{ID: 1, Name: "Ops"}, {ID: 2, Name: "ops"}}
	_, err := pickChannel(dup, "web", "ops")
	var ce *cmdutil.Error
	if !errors.As(err, &ce) || ce.Code != cmdutil.ExitUsage || !strings.Contains(ce.Msg, `2 alert channels of web are named "ops" (ids 1, 2)`) || ce.Hint != "give the channel's ID: --channel id:1" {
		t.Errorf("two channels named ops: %#v", err)
	}
}

// TestRuleWindow: --window takes days as --since does; QA's 1d was
// `time: unknown unit "d"`.
func TestRuleWindow(t *testing.T) {
	for _, tt := range []struct {
		window string
		want   int64 // minutes; 0 for a usage error
	}{
		{"10m", 10}, {"1h", 60}, {"1h30m", 90}, {"1d", 1440}, {"24h", 1440},
		{"2d", 0}, {"0d", 0}, {"90s", 0}, {"-1h", 0}, {"d", 0}, {"1.5d", 0},
	} {
		r, err := ruleFlags(&Options{Type: apitypes.RuleFrequency, Channel: "ops", Threshold: 5, Window: tt.window})
		if tt.want == 0 {
			if code, _ := cmdutil.ExitCode(err); code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--window must be whole minutes") {
				t.Errorf("--window %s: %v (exit %d), want a usage error", tt.window, err, code)
			}
			continue
		}
		if err != nil || r.WindowMinutes != tt.want {
			t.Errorf("--window %s: %d minutes, %v; want %d", tt.window, r.WindowMinutes, err, tt.want)
		}
	}
}
