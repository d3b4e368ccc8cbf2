// Package notify delivers the alert outbox: the processor writes
// notifications in the transaction that saves their events
// (store.DB.AlertHook); the Worker, a background job of every server,
// claims them, renders them (email from templates/alerts, Slack Block Kit,
// signed webhook JSON) and sends them through SMTP or SNS, Slack and
// webhooks, with retries, exponential backoff and a dead state, recording
// each attempt in the store.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"math"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/bidi"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/templates"
)

// maxStackLines is how many frames a message shows, innermost first.
const maxStackLines = 8

// maxLine bounds one shown line of SDK text (a title, a frame).
const maxLine = 300

// Message is a notification ready to render: what it says and where its
// links point. Everything in Payload and Stack came from an SDK and is
// untrusted.
type Message struct {
	// Key is the idempotency key of the notification and channel; every
	// send of it carries the key, so a receiver can drop a repeat.
	Key     string
	Reason  string
	Project string
	Payload store.AlertPayload
	// Stack holds the first lines of the stack of the event the payload
	// quotes (Payload.EventID), whose title, culprit and level it carries.
	Stack []string
	// IssueURL, MonitorURL (a cron monitor's alert, which links no
	// issue) and AccountURL are absolute, or empty without a public URL.
	IssueURL   string
	MonitorURL string
	AccountURL string
}

// CheckInTime is when the check-in a monitor's alert quotes arrived (or
// was due, for a missed run), as its messages show it.
func (m Message) CheckInTime() string {
	if m.Payload.Monitor == nil {
		return ""
	}
	return m.Payload.Monitor.CheckIn.Time.UTC().Format("2006-01-02 15:04 MST")
}

// Heading says why the message was sent.
func (m Message) Heading() string {
	switch m.Reason {
	case store.RuleNewIssue:
		return "New issue"
	case store.RuleRegression:
		return "Regression: a resolved issue is back"
	case store.RuleFrequency:
		if p := m.Payload; p.WindowEvents > 0 {
			return fmt.Sprintf("Issue is spiking: %s in %s", plural(p.WindowEvents, "event", "events"), plural(p.WindowMinutes, "minute", "minutes"))
		}
		return "Issue is spiking"
	case store.ReasonDigest:
		return "Still happening: " + plural(m.Payload.Events, "more event", "more events")
	case store.ReasonTest:
		return "Test alert"
	case store.ReasonMonitorFailing:
		return "Cron monitor failing"
	case store.ReasonMonitorRecovered:
		return "Cron monitor recovered"
	case store.ReasonMonitorsHeld:
		return fmt.Sprintf("%s (alerts paused after %d in %d minutes); the latest",
			plural(m.Payload.Held, "more cron monitor alert", "more cron monitor alerts"), store.NewIssueBurst, int(store.NewIssueBurstWindow/time.Minute))
	case store.ReasonNewIssuesHeld:
		return fmt.Sprintf("%s (alerts paused after %d in %d minutes); the latest",
			plural(m.Payload.Held, "more new issue", "more new issues"), store.NewIssueBurst, int(store.NewIssueBurstWindow/time.Minute))
	}
	return "Alert"
}

// plural is "1 " and one, or n and many.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// OtherIssueTitle is the issue's title when it is not the quoted event's
// ("" when it is, or unknown): the issue's title is its newest event's by
// the SDK's timestamp, so an alert quoting another event would otherwise
// name the issue by a title its list does not show.
func (m Message) OtherIssueTitle() string {
	if m.Payload.IssueTitle == m.Payload.Title {
		return ""
	}
	return m.Payload.IssueTitle
}

// Subject is the email subject: one line, bounded.
func (m Message) Subject() string {
	return "[Flytrap] " + oneLine(m.Project, 60) + ": " + m.Heading() + ": " + oneLine(m.Payload.Title, 120)
}

// oneLine makes untrusted text fit a header or a heading: control
// characters become spaces and it is cut to n runes. That is C0 (CR, LF),
// DEL and C1 (U+0085 NEXT LINE ends a line for some readers, U+009B is CSI
// to a terminal showing a text mail) and the line and paragraph separators
// U+2028 and U+2029, which mail clients and Slack also break lines at: an
// event must not forge a line such as a link into a message.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// stackLines returns the first lines of an event's stack, innermost frame
// first, for the message: from the exception that titles the issue (see
// event.Event.MainException), then the others outermost first. An event
// without frames shows its raw stack. Files are named as the issue page
// names them (stacktrace.DisplayNames): a URL by its path, so the origin
// of a page served from an IP address, masked in the request URL when the
// project scrubs data, is not sent out beside it (docs/privacy.md).
func stackLines(ev *event.Event) []string {
	var lines []string
	main := ev.MainException()
	order := []int{main}
	for k := len(ev.Exceptions) - 1; k >= 0; k-- {
		if k != main {
			order = append(order, k)
		}
	}
	for _, k := range order {
		if k < 0 {
			break
		}
		ex := &ev.Exceptions[k]
		if len(lines) == 0 && (ex.Type != "" || ex.Value != "") {
			lines = append(lines, oneLine(strings.TrimPrefix(ex.Type+": "+ex.Value, ": "), maxLine))
		}
		names := stacktrace.DisplayNames(ex.Frames)
		for j := len(ex.Frames) - 1; j >= 0 && len(lines) < maxStackLines; j-- {
			f := ex.Frames[j]
			file := names[j]
			line := "at " + f.Function + " (" + file + ":" + strconv.Itoa(f.Lineno) + ")"
			if f.Function == "" {
				line = "at " + file + ":" + strconv.Itoa(f.Lineno)
			}
			lines = append(lines, oneLine(line, maxLine))
		}
		if len(ex.Frames) == 0 && ex.RawStack != "" {
			for _, l := range strings.Split(ex.RawStack, "\n") {
				if l = strings.TrimSpace(l); l != "" && len(lines) < maxStackLines {
					lines = append(lines, oneLine(l, maxLine))
				}
			}
		}
		if len(lines) >= maxStackLines {
			break
		}
	}
	return lines
}

var (
	// The text part prints SDK text through line (oneLine): a raw line
	// break would let an event forge lines of the email, such as a link.
	textMail        = parseText("email.txt.tmpl")
	htmlMail        = htmltemplate.Must(htmltemplate.ParseFS(templates.FS, "alerts/email.html.tmpl"))
	textMonitorMail = parseText("monitor.txt.tmpl")
	htmlMonitorMail = htmltemplate.Must(htmltemplate.ParseFS(templates.FS, "alerts/monitor.html.tmpl"))
)

func parseText(name string) *texttemplate.Template {
	return texttemplate.Must(texttemplate.New(name).Funcs(texttemplate.FuncMap{"line": oneLine}).ParseFS(templates.FS, "alerts/"+name))
}

// Email is a rendered email.
type Email struct {
	Subject, Text, HTML string
	// Key becomes the Message-ID, so a repeat of the same notification is
	// recognisably the same message.
	Key string
	// UnsubscribeURL, when set, returns the link that unsubscribes a
	// member from the channel the email is of (Unsubscriber.URL).
	UnsubscribeURL func(ctx context.Context, userID int64) (string, error)
	// unsubscribe is each address's link, as SMTPMailer found them.
	unsubscribe map[string]string
}

// renderEmail renders m's email from templates/alerts; the HTML body
// escapes everything the SDK sent.
func renderEmail(m Message) (Email, error) {
	m = m.forReaders()
	var text, html bytes.Buffer
	view := struct {
		Message
		Heading, Subject string
	}{m, m.Heading(), m.Subject()}
	textT, htmlT := textMail, htmlMail
	if m.Payload.Monitor != nil {
		textT, htmlT = textMonitorMail, htmlMonitorMail
	}
	if err := textT.Execute(&text, view); err != nil {
		return Email{}, fmt.Errorf("render text email: %w", err)
	}
	if err := htmlT.Execute(&html, view); err != nil {
		return Email{}, fmt.Errorf("render HTML email: %w", err)
	}
	return Email{Subject: view.Subject, Text: text.String(), HTML: html.String(), Key: m.Key}, nil
}

// forReaders returns m with the Unicode direction controls in what an SDK
// sent written out as "<U+202E>", and its control characters and line
// separators made spaces (oneLine), as the dashboard and the CLI show them:
// an email or a Slack message is read by people, and "invoice_\u202egnp.exe"
// would read as a PNG. Webhooks get m as it is, since their receivers are
// programs that may want the exact text.
func (m Message) forReaders() Message {
	p := &m.Payload
	for _, s := range []*string{&m.Project, &p.Title, &p.IssueTitle, &p.Culprit, &p.Level, &p.Status, &p.Environment, &p.Release} {
		// One line in the HTML part too, which shows the fields
		// without the text part's line function.
		*s = bidi.Show(oneLine(*s, math.MaxInt))
	}
	if p.Monitor != nil {
		// A copy: the caller's message shares the pointer.
		mon := *p.Monitor
		if mon.Environment == "" {
			// Written before monitors kept a status per
			// environment: the check-in's is the one.
			mon.Environment = mon.CheckIn.Environment
		}
		for _, s := range []*string{&mon.Slug, &mon.Environment, &mon.Status, &mon.Schedule, &mon.CheckIn.Status, &mon.CheckIn.Environment, &mon.CheckIn.Release} {
			*s = bidi.Show(oneLine(*s, math.MaxInt))
		}
		p.Monitor = &mon
	}
	stack := make([]string, len(m.Stack))
	for i, l := range m.Stack {
		stack[i] = bidi.Show(l)
	}
	m.Stack = stack
	return m
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to, so SDK text cannot mention @channel, link or format.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackSectionLimit is the most characters Slack takes in a section's
// text; a longer one is refused with 400, which loses the notification.
const slackSectionLimit = 3000

// slackCode returns s as the inside of a mrkdwn code span or block of at
// most n characters: escaped, with backticks (which would end the span
// early) turned into a lookalike, and cut after escaping, never inside an
// entity, since escaping grows each <, > and & up to fivefold.
func slackCode(s string, n int) string {
	s = strings.ReplaceAll(slackEscape(s), "`", "\u02cb")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	r = r[:n-1]
	// An entity is at most five characters (&amp;): drop one cut short.
	for i := len(r) - 1; i >= 0 && i >= len(r)-5; i-- {
		if r[i] == ';' {
			break
		}
		if r[i] == '&' {
			r = r[:i]
			break
		}
	}
	return string(r) + "…"
}

// slackBody renders m as a Slack incoming-webhook message in Block Kit:
// the title in a plain_text header, the rest in mrkdwn with SDK text
// escaped.
func slackBody(m Message) ([]byte, error) {
	m = m.forReaders()
	p := m.Payload
	if p.Monitor != nil {
		return slackMonitorBody(m)
	}
	fields := []slackText{
		md("*Project*\n" + slackEscape(oneLine(m.Project, 100))),
		md("*Level*\n" + slackEscape(oneLine(p.Level, 50))),
		md("*Events*\n" + strconv.FormatInt(p.Count, 10)),
		md("*Users*\n" + strconv.FormatInt(p.UserCount, 10)),
	}
	if p.Environment != "" {
		fields = append(fields, md("*Environment*\n"+slackEscape(oneLine(p.Environment, 100))))
	}
	if p.Release != "" {
		fields = append(fields, md("*Release*\n"+slackEscape(oneLine(p.Release, 100))))
	}
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{"plain_text", oneLine(m.Heading()+": "+p.Title, 150)}},
	}
	if p.Culprit != "" {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", "`" + slackCode(oneLine(p.Culprit, 200), slackSectionLimit-2) + "`"}})
	}
	if t := m.OtherIssueTitle(); t != "" {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", "*Issue:* " + slackEscape(oneLine(t, maxLine))}})
	}
	blocks = append(blocks, slackBlock{Type: "section", Fields: fields})
	if len(m.Stack) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", "```" + slackCode(strings.Join(m.Stack, "\n"), slackSectionLimit-6) + "```"}})
	}
	if m.IssueURL != "" {
		blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{md("<" + m.IssueURL + "|Open the issue in Flytrap>")}})
	}
	return json.Marshal(map[string]any{
		// The fallback text of notifications and old clients.
		"text":   slackEscape(oneLine(m.Heading()+": "+p.Title, 150)),
		"blocks": blocks,
	})
}

// slackText and slackBlock are the parts of a Block Kit message.
type (
	slackText struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	slackBlock struct {
		Type     string      `json:"type"`
		Text     *slackText  `json:"text,omitempty"`
		Fields   []slackText `json:"fields,omitempty"`
		Elements []slackText `json:"elements,omitempty"`
	}
)

func md(s string) slackText { return slackText{"mrkdwn", s} }

// slackMonitorBody renders a cron monitor's alert, m made forReaders:
// the monitor's fields and a link to its page, SDK text escaped.
func slackMonitorBody(m Message) ([]byte, error) {
	p, mon := m.Payload, m.Payload.Monitor
	fields := []slackText{
		md("*Project*\n" + slackEscape(oneLine(m.Project, 100))),
		md("*Monitor*\n" + slackEscape(oneLine(mon.Slug, 100))),
		md("*Status*\n" + slackEscape(oneLine(mon.Status, 50))),
		md("*Schedule*\n" + slackEscape(oneLine(mon.Schedule, 100))),
		md("*Check-in*\n" + slackEscape(oneLine(mon.CheckIn.Status, 50)) + ", " + m.CheckInTime()),
	}
	if mon.OKStreak > 0 {
		fields = append(fields, md("*OK streak*\n"+plural(mon.OKStreak, "run", "runs")))
	}
	if e := mon.Environment; e != "" {
		fields = append(fields, md("*Environment*\n"+slackEscape(oneLine(e, 100))))
	}
	if r := mon.CheckIn.Release; r != "" {
		fields = append(fields, md("*Release*\n"+slackEscape(oneLine(r, 100))))
	}
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{"plain_text", oneLine(m.Heading()+": "+p.Title, 150)}},
		{Type: "section", Fields: fields},
	}
	if m.MonitorURL != "" {
		blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{md("<" + slackEscape(m.MonitorURL) + "|Open the monitor in Flytrap>")}})
	}
	return json.Marshal(map[string]any{
		"text":   slackEscape(oneLine(m.Heading()+": "+p.Title, 150)),
		"blocks": blocks,
	})
}

// WebhookPayload is the JSON body of a generic webhook.
type WebhookPayload struct {
	// ID is the idempotency key: the same for every send of one
	// notification to one webhook.
	ID      string             `json:"id"`
	Reason  string             `json:"reason"`
	Project string             `json:"project"`
	Issue   store.AlertPayload `json:"issue"`
	Stack   []string           `json:"stack,omitempty"`
	URL     string             `json:"url,omitempty"`
}

// MonitorWebhookPayload is the JSON body of a generic webhook for a cron
// monitor's alert: the monitor instead of an issue, and its page as URL.
type MonitorWebhookPayload struct {
	ID      string              `json:"id"`
	Reason  string              `json:"reason"`
	Project string              `json:"project"`
	Monitor *store.AlertMonitor `json:"monitor"`
	// Held is, for store.ReasonMonitorsHeld, how many monitor alerts the
	// channel was not sent one by one; Monitor is the latest's.
	Held int64  `json:"held,omitempty"`
	URL  string `json:"url,omitempty"`
	// At is when the alert was written, as an issue alert's issue.at.
	At time.Time `json:"at"`
}

func webhookBody(m Message) ([]byte, error) {
	if m.Payload.Monitor != nil {
		return json.Marshal(MonitorWebhookPayload{ID: m.Key, Reason: m.Reason, Project: m.Project, Monitor: m.Payload.Monitor,
			Held: m.Payload.Held, URL: m.MonitorURL, At: m.Payload.At})
	}
	return json.Marshal(WebhookPayload{ID: m.Key, Reason: m.Reason, Project: m.Project, Issue: m.Payload, Stack: m.Stack, URL: m.IssueURL})
}
