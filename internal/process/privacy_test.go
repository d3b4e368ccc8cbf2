package process

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// fakePrivacy serves fixed settings and counts reads.
type fakePrivacy struct {
	s     store.PrivacySettings
	err   error
	reads atomic.Int64
}

func (f *fakePrivacy) ProjectPrivacy(_ context.Context, v store.Viewer, _ int64) (store.PrivacySettings, error) {
	f.reads.Add(1)
	if !v.Admin {
		return store.PrivacySettings{}, errors.New("the processor must read as store.System")
	}
	return f.s, f.err
}

func acceptanceEvent(id string) event.Event {
	return event.Event{
		EventID: id, ProjectID: 7, Source: event.SourceSentry,
		Message: "payment failed for 4111 1111 1111 1111",
		Request: &event.Request{
			Method: "POST", URL: "https://shop.example.com/pay", QueryString: "token=secret",
			Data: json.RawMessage(`{"password":"hunter2","card":"4111111111111111"}`),
		},
		User: &event.User{ID: "u1", IPHash: "abc"},
	}
}

func TestProcessScrubs(t *testing.T) {
	tests := []struct {
		name     string
		privacy  *fakePrivacy // nil: no WithPrivacy
		data     string
		query    string
		ipHash   string
		notes    []string
		userKey  string
		failWith error
	}{
		{name: "defaults without settings", data: `{"card":"[Filtered]","password":"[Filtered]"}`, query: "token=[Filtered]", ipHash: "abc",
			notes: []string{"Scrubbed 4 values (message: 1, request.query_string: 1, request.data: 2)"}, userKey: "id:u1"},
		{name: "project defaults", privacy: &fakePrivacy{s: store.DefaultPrivacy},
			data: `{"card":"[Filtered]","password":"[Filtered]"}`, query: "token=[Filtered]", ipHash: "abc",
			notes: []string{"Scrubbed 4 values (message: 1, request.query_string: 1, request.data: 2)"}, userKey: "id:u1"},
		{name: "off", privacy: &fakePrivacy{s: store.PrivacySettings{}},
			data: `{"password":"hunter2","card":"4111111111111111"}`, query: "token=secret", ipHash: "abc", userKey: "id:u1"},
		{name: "safe field and dropped IP", privacy: &fakePrivacy{s: store.PrivacySettings{Scrubbing: true, SafeFields: []string{"token"}, DropIPAddresses: true}},
			data: `{"card":"[Filtered]","password":"[Filtered]"}`, query: "token=secret",
			notes: []string{"Scrubbed 3 values (message: 1, request.data: 2)"}, userKey: "id:u1"},
		{name: "deleted project", privacy: &fakePrivacy{err: store.ErrNotFound},
			data: `{"card":"[Filtered]","password":"[Filtered]"}`, query: "token=[Filtered]", ipHash: "abc",
			notes: []string{"Scrubbed 4 values (message: 1, request.query_string: 1, request.data: 2)"}, userKey: "id:u1"},
		{name: "unreadable settings", privacy: &fakePrivacy{err: errors.New("connection refused")}, failWith: errors.New("connection refused")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeSaver{}
			cfg := Config{Saver: s}
			if tt.privacy != nil {
				cfg.Privacy = tt.privacy
			}
			p := New(cfg)
			_, err := processOne(context.Background(), p, body(t, acceptanceEvent("0123456789abcdef0123456789abcdef")))
			if tt.failWith != nil {
				if err == nil || !strings.Contains(err.Error(), tt.failWith.Error()) || len(s.reqs) != 0 {
					t.Fatalf("Process = %v with %d saves; want %v and nothing saved", err, len(s.reqs), tt.failWith)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := s.reqs[0]
			ev := req.Event
			if string(ev.Request.Data) != tt.data || ev.Request.QueryString != tt.query {
				t.Errorf("request data %s, query %q; want %s, %q", ev.Request.Data, ev.Request.QueryString, tt.data, tt.query)
			}
			if ev.User.IPHash != tt.ipHash || req.UserKey != tt.userKey {
				t.Errorf("ip hash %q, user key %q; want %q, %q", ev.User.IPHash, req.UserKey, tt.ipHash, tt.userKey)
			}
			if strings.Join(ev.Notes, "|") != strings.Join(tt.notes, "|") {
				t.Errorf("notes = %q, want %q", ev.Notes, tt.notes)
			}
		})
	}
}

// TestGroupingIgnoresSecrets checks that scrubbing comes before
// fingerprinting: events differing only in a secret join one issue.
func TestGroupingIgnoresSecrets(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s})
	for i, card := range []string{"4111111111111111", "5500000000000004"} {
		ev := event.Event{EventID: strings.Repeat(string(rune('a'+i)), 32), ProjectID: 7,
			Exceptions: []event.Exception{{Type: "CardError", Value: "declined " + card}}}
		if _, err := processOne(context.Background(), p, body(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := s.reqs[0], s.reqs[1]; a.Fingerprint != b.Fingerprint || a.Title != "CardError: declined [creditcard]" {
		t.Errorf("fingerprints %s, %s and title %q; want one fingerprint of the scrubbed title", a.Fingerprint, b.Fingerprint, a.Title)
	}
}

func TestPrivacyCache(t *testing.T) {
	f := &fakePrivacy{s: store.DefaultPrivacy}
	now := time.Unix(1000, 0)
	c := newProjectCache(func(ctx context.Context, projectID int64) (store.PrivacySettings, error) {
		return f.ProjectPrivacy(ctx, store.System, projectID)
	}, store.DefaultPrivacy, func() time.Time { return now })
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		project int64
		reads   int64
	}{
		{0, 1, 1},
		{settingsTTL - time.Second, 1, 1}, // cached
		{0, 2, 2},                         // per project
		{time.Second, 1, 3},               // expired
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		if _, err := c.get(ctx, st.project); err != nil {
			t.Fatal(err)
		}
		if got := f.reads.Load(); got != st.reads {
			t.Errorf("step %d: %d reads, want %d", i, got, st.reads)
		}
	}
	f.err = errors.New("down")
	now = now.Add(settingsTTL)
	if _, err := c.get(ctx, 1); err == nil {
		t.Error("an expired entry was served when the store failed; want the error, so the event is retried")
	}
}

// TestProcessScrubsOnBothStores processes an event with secrets in every
// location into SQLite and PostgreSQL with the project's settings, and
// reads the stored payload back.
func TestProcessScrubsOnBothStores(t *testing.T) {
	for name, dsn := range bothStores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, proj := openProject(t, dsn(t), "shop")
			p := New(Config{Saver: db, Privacy: db})
			stored := func(id string) string {
				t.Helper()
				ev := acceptanceEvent(id)
				ev.ProjectID = proj.ID
				ev.Extra = json.RawMessage(`{"api_key":"k1","order":"o-1"}`)
				ev.Breadcrumbs = []event.Breadcrumb{{Message: "GET /pay?session=s1", Data: json.RawMessage(`{"Authorization":"Bearer xyz"}`)}}
				if _, err := processOne(ctx, p, body(t, ev)); err != nil {
					t.Fatal(err)
				}
				row, err := db.GetEvent(ctx, store.System, id)
				if err != nil {
					t.Fatal(err)
				}
				return string(row.Payload)
			}
			got := stored(strings.Repeat("1", 32))
			for _, secret := range []string{"hunter2", "4111", "token=secret", "k1", "s1", "xyz"} {
				if strings.Contains(got, secret) {
					t.Errorf("stored payload holds %q:\n%s", secret, got)
				}
			}
			if !strings.Contains(got, `"data":{"card":"[Filtered]","password":"[Filtered]"}`) || !strings.Contains(got, `"notes":["Scrubbed 7 values`) {
				t.Errorf("stored payload:\n%s", got)
			}
			// A new processor, as after the cache's TTL, sees changed settings.
			if _, err := db.SetProjectPrivacy(ctx, store.System, proj.ID, store.PrivacySettings{}); err != nil {
				t.Fatal(err)
			}
			p = New(Config{Saver: db, Privacy: db})
			if got := stored(strings.Repeat("2", 32)); !strings.Contains(got, "hunter2") || strings.Contains(got, "[Filtered]") {
				t.Errorf("with scrubbing off, stored payload:\n%s", got)
			}
		})
	}
}

// TestCulpritScrubbed: the culprit goes out in the issue list,
// alerts, Slack and webhooks, so it is scrubbed whether the SDK sent it
// (QA's "GET /reset?token=...") or the processor derived it from the
// transaction or a frame, which the event keeps as sent. Which issue the
// event joins does not change with scrubbing: grouping reads the raw
// culprit. (A frame's URL is shown by its path, without query or
// fragment, already: see TestDisplayCulprit.)
func TestCulpritScrubbed(t *testing.T) {
	tests := []struct {
		name      string
		ev        event.Event
		secret    string
		culprit   string // with scrubbing on
		note      string
		sdkKept   string // the event's culprit as stored
		unchanged func(ev *event.Event) string
	}{
		{name: "sent by the SDK", secret: "SEC_CULPRIT", ev: event.Event{SDKCulprit: "GET /reset?token=SEC_CULPRIT&password=SEC_CULPRIT2", Level: "error"},
			culprit: "GET /reset?token=[Filtered]&password=[Filtered]", note: "Scrubbed 2 values (culprit: 2)",
			sdkKept: "GET /reset?token=[Filtered]&password=[Filtered]"},
		{name: "the transaction", secret: "SEC_TX", ev: event.Event{Transaction: "GET /reset?token=SEC_TX&step=2", Level: "error"},
			culprit:   "GET /reset?token=[Filtered]&step=2",
			unchanged: func(ev *event.Event) string { return ev.Transaction }},
		{name: "a frame", secret: "4111111111111111", ev: event.Event{Platform: "python", Exceptions: []event.Exception{{Type: "E", Frames: []event.Frame{
			{Module: "jobs.4111111111111111", Function: "run", InApp: new(true)}}}}},
			culprit:   "jobs.[creditcard] in run",
			unchanged: func(ev *event.Event) string { return ev.Exceptions[0].Frames[0].Module }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(settings store.PrivacySettings) store.SaveRequest {
				t.Helper()
				s := &fakeSaver{}
				p := New(Config{Saver: s, Privacy: &fakePrivacy{s: settings}})
				ev := tt.ev
				ev.EventID, ev.ProjectID = "0123456789abcdef0123456789abcdef", 7
				if _, err := processOne(context.Background(), p, body(t, ev)); err != nil {
					t.Fatal(err)
				}
				return s.reqs[0]
			}
			on, off := run(store.DefaultPrivacy), run(store.PrivacySettings{})
			if on.Culprit != tt.culprit {
				t.Errorf("culprit = %q, want %q", on.Culprit, tt.culprit)
			}
			if strings.Contains(on.Culprit, tt.secret) || !strings.Contains(off.Culprit, tt.secret) {
				t.Errorf("culprit %q scrubbed, %q with scrubbing off; want the secret out of the first only", on.Culprit, off.Culprit)
			}
			if on.Event.SDKCulprit != tt.sdkKept || strings.Join(on.Event.Notes, "|") != tt.note {
				t.Errorf("stored culprit %q, notes %q; want %q, %q", on.Event.SDKCulprit, on.Event.Notes, tt.sdkKept, tt.note)
			}
			if tt.unchanged != nil && tt.unchanged(on.Event) != tt.unchanged(off.Event) {
				t.Errorf("the event's %q was changed to %q; the docs say it is kept", tt.unchanged(off.Event), tt.unchanged(on.Event))
			}
			if on.Fingerprint != off.Fingerprint {
				t.Errorf("fingerprint %s scrubbed, %s not; grouping must not depend on the culprit's scrubbing", on.Fingerprint, off.Fingerprint)
			}
		})
	}
}

// A card number in the exception's type (QA: "CardErr 4111111111111111")
// is masked before grouping, as one in its value is: one issue, and no
// card number in its title or an alert's subject.
func TestExceptionTypeScrubbed(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s})
	for i, card := range []string{"4111111111111111", "5500000000000004"} {
		ev := event.Event{EventID: strings.Repeat(string(rune('a'+i)), 32), ProjectID: 7,
			Exceptions: []event.Exception{{Type: "CardErr " + card, Value: "declined"}}}
		if _, err := processOne(context.Background(), p, body(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := s.reqs[0], s.reqs[1]; a.Fingerprint != b.Fingerprint || a.Title != "CardErr [creditcard]: declined" {
		t.Errorf("fingerprints %s, %s and title %q; want one fingerprint and the card masked", a.Fingerprint, b.Fingerprint, a.Title)
	}
}
