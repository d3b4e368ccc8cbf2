package notify

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/store"
)

// TestSlackSectionsFitAndStayClosed: SDK text that escaping grows fivefold
// (C++ templates are all < and >) still fits Slack's 3000 characters per
// section, is never cut inside an entity, and cannot end its code span
// early with a backtick.
func TestSlackSectionsFitAndStayClosed(t *testing.T) {
	frame := strings.Repeat("std::vector<std::map<int,&T>>`` ", 10)[:maxLine]
	var stack []string
	for range maxStackLines {
		stack = append(stack, frame)
	}
	for _, culprit := range []string{"src/a.cpp in run`<b>`", strings.Repeat("&", 200)} {
		m := Message{Key: "k", Reason: store.RuleNewIssue, Project: "p",
			Payload: store.AlertPayload{Title: "E", Culprit: culprit, Level: "error"}, Stack: stack}
		body, err := slackBody(m)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Blocks []struct {
				Type string
				Text *struct{ Text string }
			}
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatal(err)
		}
		cutEntity := regexp.MustCompile(`&[a-z]{0,3}(…|$|[^a-z;])`)
		sections := 0
		for _, b := range msg.Blocks {
			if b.Type != "section" || b.Text == nil {
				continue
			}
			sections++
			s := b.Text.Text
			if n := utf8.RuneCountInString(s); n > slackSectionLimit {
				t.Errorf("section of %d characters, over Slack's %d", n, slackSectionLimit)
			}
			inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s, "```"), "```"), "`"), "`")
			if strings.Contains(inner, "`") {
				t.Errorf("a backtick inside the code span: %.80q", inner)
			}
			if loc := cutEntity.FindStringIndex(inner); loc != nil {
				t.Errorf("an entity cut short: %q", inner[max(loc[0]-10, 0):loc[1]])
			}
		}
		if sections != 2 {
			t.Errorf("%d text sections, want the culprit's and the stack's", sections)
		}
	}
}
