package notify

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/bidi"
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

// TestDirectionControlsWrittenOutForReaders: an email (subject, text and
// HTML) and a Slack message show U+202E and the other direction controls
// as "<U+202E>", so "invoice_\u202egnp.exe" cannot read as a PNG; a
// webhook, read by programs, gets the exact text.
func TestDirectionControlsWrittenOutForReaders(t *testing.T) {
	m := Message{Key: "k", Reason: store.RuleNewIssue, Project: "shop",
		Payload: store.AlertPayload{Title: "Error: invoice_\u202egnp.exe", Culprit: "src/\u2067a.js\u2069 GET /p\u0085q\u2028r", Level: "error",
			Environment: "prod\u200e", Release: "1.0\u061c"},
		Stack: []string{"at pay (src/\u202esj.yap:3)"}}
	mail, err := renderEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	slack, err := slackBody(m)
	if err != nil {
		t.Fatal(err)
	}
	var slackText strings.Builder
	var msg struct {
		Text   string
		Blocks []struct{ Text *struct{ Text string } }
	}
	if err := json.Unmarshal(slack, &msg); err != nil {
		t.Fatal(err)
	}
	slackText.WriteString(msg.Text)
	for _, b := range msg.Blocks {
		if b.Text != nil {
			slackText.WriteString("\n" + b.Text.Text)
		}
	}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"subject", mail.Subject, []string{"invoice_<U+202E>gnp.exe"}},
		{"text email", mail.Text, []string{"invoice_<U+202E>gnp.exe", "src/<U+2067>a.js<U+2069>", "prod<U+200E>", "1.0<U+061C>", "src/<U+202E>sj.yap"}},
		{"HTML email", mail.HTML, []string{"invoice_&lt;U&#43;202E&gt;gnp.exe", "src/&lt;U&#43;2067&gt;a.js&lt;U&#43;2069&gt; GET /p q r", "prod&lt;U&#43;200E&gt;", "src/&lt;U&#43;202E&gt;sj.yap"}},
		{"Slack", slackText.String(), []string{"invoice_<U+202E>gnp.exe", "src/&lt;U+2067&gt;a.js&lt;U+2069&gt;", "src/&lt;U+202E&gt;sj.yap"}},
	} {
		if i := strings.IndexFunc(tc.body, func(r rune) bool { return bidi.Control(r) || r == '\u0085' || r == '\u2028' }); i >= 0 {
			t.Errorf("%s holds a direction control as is: %q", tc.name, tc.body[max(0, i-40):min(len(tc.body), i+10)])
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.body, w) {
				t.Errorf("%s lacks %q:\n%s", tc.name, w, tc.body)
			}
		}
	}
	hook, err := webhookBody(m)
	if err != nil {
		t.Fatal(err)
	}
	var p WebhookPayload
	if err := json.Unmarshal(hook, &p); err != nil {
		t.Fatal(err)
	}
	if p.Issue.Title != m.Payload.Title || p.Stack[0] != m.Stack[0] {
		t.Errorf("webhook changed the SDK's text: %q, %q", p.Issue.Title, p.Stack)
	}
}

// TestOneLine: every character a mail client, Slack or a terminal may break
// a line at or obey becomes a space: C0, DEL, C1 (U+0085 NEXT LINE, U+009B
// CSI) and the line and paragraph separators; invalid UTF-8 becomes U+FFFD.
func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 10, "plain"},
		{"a\r\nBcc: x@y", 20, "a  Bcc: x@y"},
		{"prod\u2028Open the issue: https://evil.example/", 60, "prod Open the issue: https://evil.example/"},
		{"a\u2029b\u0085c\u009b2Jd\u007fe\x1b[31m", 30, "a b c 2Jd e [31m"},
		{"bad \xff", 10, "bad \uFFFD"},
		{"123456", 4, "123…"},
	} {
		if got := oneLine(tc.in, tc.n); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestIssueTitleBesideEventTitle: an alert quoting an event whose title is
// not its issue's shows "Issue: <title>" too, in the text email as one
// line, in the HTML email escaped and in Slack escaped for mrkdwn; one
// whose titles match, or without an issue title (a test alert), does not.
func TestIssueTitleBesideEventTitle(t *testing.T) {
	hostile := "Issue <b>&</b> <!channel>\r\nBcc: x@example.com"
	for _, tc := range []struct {
		name, issueTitle  string
		text, html, slack string // "" wants no Issue line
	}{
		{"other", hostile, "\nIssue: Issue <b>&</b> <!channel>  Bcc: x@example.com\n",
			"Issue: Issue &lt;b&gt;&amp;&lt;/b&gt; &lt;!channel&gt;  Bcc: x@example.com</p>",
			"*Issue:* Issue &lt;b&gt;&amp;&lt;/b&gt; &lt;!channel&gt;  Bcc: x@example.com"},
		{"same", "TypeError: x", "", "", ""},
		{"none", "", "", "", ""},
	} {
		m := Message{Key: "k", Reason: store.RuleNewIssue, Project: "shop",
			Payload: store.AlertPayload{Title: "TypeError: x", IssueTitle: tc.issueTitle, Level: "error"}}
		mail, err := renderEmail(m)
		if err != nil {
			t.Fatal(err)
		}
		body, err := slackBody(m)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Blocks []struct{ Text *struct{ Text string } }
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatal(err)
		}
		var slack strings.Builder
		for _, b := range msg.Blocks {
			if b.Text != nil {
				slack.WriteString(b.Text.Text + "\n")
			}
		}
		for _, part := range []struct{ what, body, want string }{
			{"text email", mail.Text, tc.text}, {"HTML email", mail.HTML, tc.html}, {"Slack", slack.String(), tc.slack},
		} {
			switch {
			case part.want == "" && strings.Contains(part.body, "Issue:"):
				t.Errorf("%s: %s has an Issue line:\n%s", tc.name, part.what, part.body)
			case part.want != "" && !strings.Contains(part.body, part.want):
				t.Errorf("%s: %s lacks %q:\n%s", tc.name, part.what, part.want, part.body)
			}
		}
	}
}
