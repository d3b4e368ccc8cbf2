package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
)

// processNow is an ingest queue that runs each event through the
// processor as it is enqueued.
type processNow struct{ p *process.Processor }

func (q processNow) Enqueue(ctx context.Context, body []byte) error {
	return q.p.ProcessBatch(ctx, [][]byte{body})[0].Err
}

func (q processNow) EnqueueBatch(ctx context.Context, bodies [][]byte) error {
	for _, b := range bodies {
		if err := q.Enqueue(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// projectKey is an ingest.Keys with one key.
type projectKey struct {
	key     string
	project int64
}

func (k projectKey) ProjectForKey(_ context.Context, key string) (ingest.Key, bool, error) {
	return ingest.Key{ProjectID: k.project}, key == k.key, nil
}

// QA: python-modern.json's local variables (dict_var, int_var, ...)
// were missing from GET /api/v1/events/{id}. They go through ingest, the
// processor (scrubbed with the project's settings) and the store, and the
// event JSON carries them in each frame's vars.
func TestEventFrameVars(t *testing.T) {
	payload := samples.Read(t, "python-modern.json")
	f := newFixture(t)
	keys, err := f.db.ProjectKeys(context.Background(), store.System, f.project.ID)
	if err != nil || len(keys) == 0 {
		t.Fatal(keys, err)
	}
	h := ingest.New(ingest.Config{IPSalt: []byte("salt")}, projectKey{keys[0].PublicKey, f.project.ID},
		processNow{process.New(process.Config{Saver: f.db, Privacy: f.db})}, nil)
	send := func(body []byte) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/%d/store/", f.project.ID), bytes.NewReader(body))
		r.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+keys[0].PublicKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("ingest answered %d: %s", rec.Code, rec.Body)
		}
		var out struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.ID == "" {
			t.Fatalf("ingest answered %s: %v", rec.Body, err)
		}
		return out.ID
	}
	frameVars := func(id string) []map[string]any {
		t.Helper()
		code, _, out := f.do(t, f.memberToken, "GET", "/api/v1/projects/"+fmt.Sprint(f.project.ID)+"/events/"+id, "")
		if code != 200 {
			t.Fatalf("event %s: HTTP %d %v", id, code, out)
		}
		ev, _ := out["event"].(map[string]any)
		excs, _ := ev["exceptions"].([]any)
		if len(excs) == 0 {
			t.Fatalf("event %s has no exceptions: %v", id, ev)
		}
		var vars []map[string]any
		for _, fr := range excs[len(excs)-1].(map[string]any)["frames"].([]any) {
			v, _ := fr.(map[string]any)["vars"].(map[string]any)
			vars = append(vars, v)
		}
		return vars
	}

	vars := frameVars(send(payload))
	main := vars[len(vars)-1]
	dict, _ := main["dict_var"].(map[string]any)
	list, _ := main["list_var"].([]any)
	if main["int_var"] != "1" || main["str_var"] != "'Hello, world!'" || dict["key1"] != "'value1'" || len(list) != 3 {
		t.Errorf("main's vars %v", main)
	}

	id := send([]byte(`{"event_id":"5ca1ab1e0000000000000000000000a1","exception":{"values":[{"type":"PaymentError","stacktrace":{"frames":[` +
		`{"function":"charge","filename":"pay.py","vars":{"password":"x","card":"4111 1111 1111 1111","dsn":"postgres://u:pw@h/db"}}]}}]}}`))
	got := frameVars(id)[0]
	if got["password"] != "[Filtered]" || got["card"] != "[Filtered]" || got["dsn"] != "postgres://u:[Filtered]@h/db" {
		t.Errorf("scrubbed vars %v", got)
	}
}
