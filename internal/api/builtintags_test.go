package api

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestSearchBuiltinTags finds an issue by each tag Sentry derives from an
// event's fields, as a QA tester searched for them, and sees them among
// the issue's tags.
func TestSearchBuiltinTags(t *testing.T) {
	f := newFixture(t)
	unhandled := false
	ev := &event.Event{
		EventID: "b0000000000000000000000000000001", ProjectID: f.project.ID, Source: event.SourceSentry,
		Timestamp: now.Add(-30 * time.Minute), Received: now.Add(-30 * time.Minute), Level: "error", Release: "app@2", Dist: "41",
		Transaction: "/index.html", ServerName: "qa-host", Logger: "django.request", Site: "eu-1",
		Request:    &event.Request{URL: "https://shop.example/cart?id=7#top"},
		Exceptions: []event.Exception{{Type: "RangeError", Value: "x", Mechanism: &event.Mechanism{Type: "onerror", Handled: &unhandled}}},
	}
	res, err := f.db.SaveEvent(context.Background(), store.SaveRequest{Event: ev, Fingerprint: "builtin", GroupingVersion: "test", Title: "RangeError: x"})
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/api/v1/projects/%d/issues?status=all&query=", f.project.ID)
	for _, q := range []string{
		"transaction:/index.html", "server_name:qa-host", "handled:no", "mechanism:onerror",
		`url:"https://shop.example/cart"`, "logger:django.request", "dist:41", "site:eu-1",
		// Sentry's names of the same.
		"error.handled:0", "error.unhandled:true", "error.mechanism:onerror",
	} {
		code, _, out := f.do(t, f.memberToken, "GET", base+url.QueryEscape(q), "")
		if code != 200 {
			t.Fatalf("%s: HTTP %d: %v", q, code, out)
		}
		data := out["data"].([]any)
		if len(data) != 1 || int64(data[0].(map[string]any)["id"].(float64)) != res.IssueID {
			t.Errorf("%s finds %v, want issue %d", q, data, res.IssueID)
		}
	}
	_, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d", res.IssueID), "")
	keys := make(map[string]string)
	for _, tag := range out["tags"].([]any) {
		m := tag.(map[string]any)
		keys[m["key"].(string)] = m["value"].(string)
	}
	if keys["url"] != "https://shop.example/cart" || keys["handled"] != "no" || keys["server_name"] != "qa-host" {
		t.Errorf("the issue's tags: %v", keys)
	}
}
