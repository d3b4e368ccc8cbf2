package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/grouping"
	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/store"
)

// previousCase is a case of internal/grouping/testdata/previous.json: an
// SDK's payload, the event ingest and the in-app stage made of it, and the
// hash each grouping version gave it.
type previousCase struct {
	Name    string            `json:"name"`
	Payload json.RawMessage   `json:"payload"`
	Event   event.Event       `json:"event"`
	Hashes  map[string]string `json:"hashes"`
}

// previousCases reads internal/grouping/testdata/previous.json.
func previousCases(t *testing.T) []previousCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "grouping", "testdata", "previous.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []previousCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// enqueueEvent puts ev on db's local queue as ingest would, marshalled
// as it is: the upgrade tests queue what an older ingest or a check-in
// left behind.
func enqueueEvent(ctx context.Context, t *testing.T, db *store.DB, ev *event.Event) {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewLocal(db, queue.Options{})
	err = q.Enqueue(ctx, body)
	q.Close()
	if err != nil {
		t.Fatal(err)
	}
}

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
	cases := previousCases(t)
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

// TestUpgradeDrainsOlderIngestQueue upgrades while an event waits in the
// queue: @sentry/node's AggregateError, whose issue release 2026-12 made,
// was queued by that release's ingest, which kept no mechanism tree. Today's
// processor groups it as a chain (2026-12e's hash), so it must join the
// issue without moving it there: the same error posted to today's ingest
// groups as a tree (2026-12f on), and finds the issue by the 2026-12 hash
// only while the issue still has it.
func TestUpgradeDrainsOlderIngestQueue(t *testing.T) {
	cases := previousCases(t)
	i := slices.IndexFunc(cases, func(c previousCase) bool {
		return c.Name == "exception group, node many"
	})
	if i < 0 {
		t.Fatal("previous.json has no node AggregateError")
	}
	c := cases[i]
	var payload bytes.Buffer
	if err := json.Compact(&payload, c.Payload); err != nil {
		t.Fatal(err)
	}
	// The event as 2026-12's ingest queued it: no tree, no shape.
	queued := c.Event
	queued.Exceptions = slices.Clone(c.Event.Exceptions)
	for j, ex := range queued.Exceptions {
		if ex.Mechanism != nil {
			m := *ex.Mechanism
			m.ExceptionID, m.ParentID, m.IsExceptionGroup, m.Source = nil, nil, false, ""
			queued.Exceptions[j].Mechanism = &m
		}
	}
	queued.Shape = 0
	if h := grouping.Group(&queued).Hash; h == c.Hashes["2026-12"] || h == grouping.Group(&c.Event).Hash {
		t.Fatalf("today's hash of the queued event, %s, is one of the others: nothing to test", h)
	}
	onEachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, boot := devServerOn(t, db)
		issue, err := db.SaveEvent(ctx, store.SaveRequest{Event: &event.Event{EventID: fmt.Sprintf("%032x", 1000), ProjectID: boot.Project.ID, Level: "error"},
			Fingerprint: c.Hashes["2026-12"], GroupingVersion: "2026-12", Title: "AggregateError: many"})
		if err != nil {
			t.Fatal(err)
		}
		queued.EventID, queued.ProjectID = fmt.Sprintf("%032x", 1001), boot.Project.ID
		queued.Timestamp, queued.Received = time.Now().UTC(), time.Now().UTC()
		enqueueEvent(ctx, t, db, &queued)
		posted := postEvents(t, s, db, boot, payload.String())[0]
		left, err := db.GetEvent(ctx, store.System, queued.EventID)
		if err != nil {
			t.Fatal(err)
		}
		is, err := db.GetIssue(ctx, store.System, issue.IssueID)
		if err != nil {
			t.Fatal(err)
		}
		if left.IssueID != issue.IssueID || posted.IssueID != issue.IssueID || is.Count != 3 || is.GroupingVersion != grouping.Version {
			t.Errorf("queued event in issue %d, posted in %d; issue %d has %d events, version %s; want both in it, 3 events, %s",
				left.IssueID, posted.IssueID, issue.IssueID, is.Count, is.GroupingVersion, grouping.Version)
		}
	})
}
