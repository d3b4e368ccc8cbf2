package api

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestSearchWildcards runs QA's searches, which each listed nothing
// though issues matched: Sentry's * wildcard and release:latest.
func TestSearchWildcards(t *testing.T) {
	f := newFixture(t)
	save := func(n int, fp, title, release string, tags ...event.Tag) int64 {
		t.Helper()
		at := now.Add(time.Duration(n-10) * time.Minute)
		ev := &event.Event{
			EventID: fmt.Sprintf("c%031d", n), ProjectID: f.project.ID, Source: event.SourceSentry,
			Timestamp: at, Received: at, Level: "error", Release: release, Tags: tags,
		}
		res, err := f.db.SaveEvent(context.Background(), store.SaveRequest{Event: ev, Fingerprint: fp, GroupingVersion: "test", Title: title})
		if err != nil {
			t.Fatal(err)
		}
		return res.IssueID
	}
	headless := save(1, "headless", "Error: wrapError: boom", "shop@1.2.3", event.Tag{Key: "browser", Value: "HeadlessChrome 120.0.0"})
	firefox := save(2, "firefox", "TypeError: x is undefined", "shop@1.2.4", event.Tag{Key: "browser", Value: "Firefox 121.0"})
	newest := save(3, "newest", "RangeError: wrapErrors", "shop@1.3.0", event.Tag{Key: "browser", Value: "Firefox 121.0"})

	base := fmt.Sprintf("/api/v1/projects/%d/issues?status=all&query=", f.project.ID)
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"browser:Headless*", []int64{headless}},
		{"release:shop@1.2.*", []int64{headless, firefox}},
		{"title:*wrapError*", []int64{headless, newest}},
		{"release:latest", []int64{newest}},
		{"!browser:Headless*", []int64{firefox, newest}},
		{"browser:[Headless*,Firefox]", []int64{headless}},
		{"release:[latest,shop@1.2.3]", []int64{headless, newest}},
		{`browser:Headless\*`, nil},
	} {
		code, _, out := f.do(t, f.memberToken, "GET", base+url.QueryEscape(tt.query), "")
		if code != 200 {
			t.Fatalf("%s: HTTP %d: %v", tt.query, code, out)
		}
		var got []int64 // of these issues, not the fixture's
		for _, d := range out["data"].([]any) {
			if id := int64(d.(map[string]any)["id"].(float64)); slices.Contains([]int64{headless, firefox, newest}, id) {
				got = append(got, id)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s finds %v, want %v", tt.query, got, tt.want)
		}
	}
	// A * where no wildcard can be is a 400 that says so.
	code, _, out := f.do(t, f.memberToken, "GET", base+url.QueryEscape("is:unres*"), "")
	if code != 400 || !strings.Contains(fmt.Sprint(out), "is: takes no * wildcard") {
		t.Errorf("is:unres*: HTTP %d: %v", code, out)
	}
}
