package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
)

// keyMap is an ingest.Keys of several projects' keys.
type keyMap map[string]int64

func (k keyMap) ProjectForKey(_ context.Context, key string) (ingest.Key, bool, error) {
	p, ok := k[key]
	return ingest.Key{ProjectID: p}, ok, nil
}

// An event ID reused through another project's DSN: each project's DSN
// sends an event with the same ID through ingest and the processor. The
// unscoped GET /api/v1/events/{id} answers each caller with the one event
// of the projects they see; a caller who sees both gets a 409 whose body
// lists the project-scoped URLs, and each of them answers.
func TestEventIDReusedThroughTwoDSNs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keys := keyMap{}
	for _, p := range []store.Project{f.project, f.other} {
		pk, err := f.db.ProjectKeys(ctx, store.System, p.ID)
		if err != nil || len(pk) == 0 {
			t.Fatal(pk, err)
		}
		keys[pk[0].PublicKey] = p.ID
	}
	h := ingest.New(ingest.Config{IPSalt: []byte("salt")}, keys,
		processNow{process.New(process.Config{Saver: f.db, Privacy: f.db})}, nil)
	const id = "5ca1ab1e00000000000000000000d0d0"
	send := func(p store.Project, message string) {
		t.Helper()
		var key string
		for k, pid := range keys {
			if pid == p.ID {
				key = k
			}
		}
		body := fmt.Sprintf(`{"event_id":%q,"message":%q}`, id, message)
		r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/%d/store/", p.ID), bytes.NewReader([]byte(body)))
		r.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("ingest into %s answered %d: %s", p.Name, rec.Code, rec.Body)
		}
	}
	// The victim's event first, then the same ID through the other DSN.
	send(f.other, "victim's own event")
	send(f.project, "reused by another project")

	victim, err := f.db.CreateUser(ctx, "victim@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(ctx, f.other.ID, victim.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	victimToken, _, err := f.db.CreateAPIToken(ctx, victim.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	spareToken, _, err := f.db.CreateAPIToken(ctx, f.spare.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	path := func(p store.Project) string { return fmt.Sprintf("/api/v1/projects/%d/events/%s", p.ID, id) }
	for _, tt := range []struct {
		name, token string
		title       string   // of the event answered
		urls        []string // of the 409 instead
	}{
		{"the victim's member", victimToken, "victim's own event", nil},
		{"the other project's member", f.memberToken, "reused by another project", nil},
		{"a member of both", spareToken, "", []string{path(f.project), path(f.other)}},
		{"an admin", f.adminToken, "", []string{path(f.project), path(f.other)}},
	} {
		code, _, out := f.do(t, tt.token, "GET", "/api/v1/events/"+id, "")
		if tt.urls == nil {
			if code != 200 || out["title"] != tt.title {
				t.Errorf("%s: GET /api/v1/events/%s = HTTP %d %v, want 200 %q", tt.name, id, code, out, tt.title)
			}
			continue
		}
		e, _ := out["error"].(map[string]any)
		var urls []string
		list, _ := e["urls"].([]any)
		for _, u := range list {
			urls = append(urls, fmt.Sprint(u))
		}
		if code != 409 || e["code"] != "ambiguous_event_id" || !slices.Equal(urls, tt.urls) {
			t.Errorf("%s: GET /api/v1/events/%s = HTTP %d %v, want 409 listing %v", tt.name, id, code, out, tt.urls)
			continue
		}
		for _, u := range urls {
			if code, _, out := f.do(t, tt.token, "GET", u, ""); code != 200 || out["event_id"] != id {
				t.Errorf("%s: GET %s (from the 409) = HTTP %d %v", tt.name, u, code, out)
			}
		}
	}
}
