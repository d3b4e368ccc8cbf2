package notify

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

// TestGoldenMonitorsHeld compares the monitors_held summary (the latest
// monitor alert, with how many the channel was not sent one by one), as
// each channel renders it, with testdata/monitors_held.*: the email's
// subject and text and HTML parts, the Slack message and the webhook
// body, with the SDK's text escaped for each. Run `go test
// ./internal/notify -run Golden -update` after an intended change.
func TestGoldenMonitorsHeld(t *testing.T) {
	m := monitorMessage()
	m.Key, m.Reason, m.Payload.Held = "monitors_held:2:1764720000000", store.ReasonMonitorsHeld, 37
	e, err := renderEmail(m)
	if err != nil {
		t.Fatal(err)
	}
	slack, err := slackBody(m)
	if err != nil {
		t.Fatal(err)
	}
	hook, err := webhookBody(m)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "monitors_held.email.txt", []byte("Subject: "+e.Subject+"\n\n"+e.Text))
	golden.Check(t, "monitors_held.email.html", []byte(e.HTML))
	golden.Check(t, "monitors_held.slack.json", indentJSON(t, slack))
	golden.Check(t, "monitors_held.webhook.json", indentJSON(t, hook))
}

// indentJSON indents a JSON body, so that a golden file's diff shows the
// field that changed.
func indentJSON(t *testing.T, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return append(b.Bytes(), '\n')
}
