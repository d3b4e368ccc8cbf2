package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/grouping"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestUpgradeKeepsIssuesEndToEnd upgrades to today's grouping on both
// stores: each payload of internal/grouping/testdata/previous.json (a
// sentry-cocoa crash, whose frames are in-app by their package since
// 2026-12d; a sentry-python log message, which groups by its template
// since 2026-12d; a sentry-native crash of addresses; a @sentry/node error
// thrown by an anonymous function, which groups by its source lines since
// 2026-12e) has an issue under the hash that the last release to group it
// differently gave it, with its ingest, in-app stage and grouping. Posted
// to today's stack, each joins its issue, which moves to today's hash,
// instead of opening a new one.
func TestUpgradeKeepsIssuesEndToEnd(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "grouping", "testdata", "previous.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string            `json:"name"`
		Payload json.RawMessage   `json:"payload"`
		Event   event.Event       `json:"event"`
		Hashes  map[string]string `json:"hashes"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	var names, payloads, hashes, versions []string
	for _, c := range cases {
		if c.Payload == nil {
			continue
		}
		var line bytes.Buffer
		if err := json.Compact(&line, c.Payload); err != nil {
			t.Fatal(err)
		}
		// The newest version whose hash differs from today's: an upgrade
		// from a later one finds the issue by today's hash directly.
		// Version names sort by age ("2026-12" < "2026-12b").
		now, from := grouping.Group(&c.Event).Hash, ""
		for v, h := range c.Hashes {
			if h != now && v > from {
				from = v
			}
		}
		if from == "" {
			t.Fatalf("%s: grouped alike by every version, nothing to upgrade", c.Name)
		}
		names, payloads = append(names, c.Name), append(payloads, line.String())
		hashes, versions = append(hashes, c.Hashes[from]), append(versions, from)
	}
	if len(payloads) == 0 {
		t.Fatal("no case of previous.json has a payload")
	}
	onEachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, boot := devServerOn(t, db)
		old := make([]int64, len(payloads))
		for i, h := range hashes {
			ev := event.Event{EventID: fmt.Sprintf("%032x", 1000+i), ProjectID: boot.Project.ID, Level: "error"}
			res, err := db.SaveEvent(ctx, store.SaveRequest{Event: &ev, Fingerprint: h, GroupingVersion: versions[i], Title: names[i]})
			if err != nil {
				t.Fatal(err)
			}
			old[i] = res.IssueID
		}
		for i, row := range postEvents(t, s, db, boot, payloads...) {
			is, err := db.GetIssue(ctx, store.System, old[i])
			if err != nil {
				t.Fatal(err)
			}
			if row.IssueID != old[i] || is.GroupingVersion != grouping.Version || is.Fingerprint == hashes[i] || is.Count != 2 {
				t.Errorf("%s (from %s): joined issue %d; issue %d has version %s, hash %s, %d events; want it joined, moved to %s, 2 events",
					names[i], versions[i], row.IssueID, old[i], is.GroupingVersion, is.Fingerprint, is.Count, grouping.Version)
			}
		}
	})
}
