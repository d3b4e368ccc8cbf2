package symbolicate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
)

// oneKey is the ingest key set of one project.
type oneKey struct{}

func (oneKey) ProjectForKey(_ context.Context, key string) (ingest.Key, bool, error) {
	return ingest.Key{ProjectID: 7}, key == "public", nil
}

// bodies is the queue behind ingest.
type bodies struct {
	mu   sync.Mutex
	list [][]byte
}

func (q *bodies) Enqueue(_ context.Context, b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, b)
	return nil
}

func (q *bodies) EnqueueBatch(ctx context.Context, bs [][]byte) error {
	for _, b := range bs {
		q.Enqueue(ctx, b)
	}
	return nil
}

// browserEvent is build A's error as @sentry/browser sends it for a bundle
// whose debug ID was injected: frames oldest first, the file's debug ID in
// debug_meta. The release names no upload, so only the debug ID can find
// the map.
const browserEvent = `{"event_id":"0123456789abcdef0123456789abcdef","platform":"javascript","release":"unrelated@9",
"exception":{"values":[{"type":"RangeError","value":"negative quantity for pear","stacktrace":{"frames":[
{"filename":"` + urlA + `","function":"a","lineno":1,"colno":240,"in_app":true},
{"filename":"` + urlA + `","function":"e","lineno":1,"colno":192,"in_app":true},
{"filename":"` + urlA + `","function":"n","lineno":1,"colno":156,"in_app":true},
{"filename":"` + urlA + `","function":"u","lineno":1,"colno":43,"in_app":true}]}}]},
"debug_meta":{"images":[{"type":"sourcemap","code_file":"` + urlA + `","debug_id":"C0FFEE00-1111-4222-8333-444455556666"}]}}`

// From the wire to the stored event: ingest takes the debug ID from
// debug_meta onto the frames, and the processor's symbolicate stage finds
// the map by it.
func TestSentryEventThroughIngest(t *testing.T) {
	q := &bodies{}
	h := ingest.New(ingest.Config{IPSalt: []byte("salt")}, oneKey{}, q, nil)
	rq := httptest.NewRequest(http.MethodPost, "/api/7/store/", strings.NewReader(browserEvent))
	rq.Header.Set("X-Sentry-Auth", "Sentry sentry_key=public, sentry_version=7")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, rq)
	if rec.Code != http.StatusOK || len(q.list) != 1 {
		t.Fatalf("ingest: HTTP %d, %d queued: %s", rec.Code, len(q.list), rec.Body)
	}

	maps := &fakeMaps{byDebugID: map[string]artifact.Map{debugIDA: mapA(t)}}
	saver := &recordingSaver{}
	out := process.New(process.Config{Saver: saver, Symbolicator: New(Config{Maps: maps})}).ProcessBatch(context.Background(), q.list)
	if out[0].Err != nil {
		t.Fatal(out[0].Err)
	}
	ev := saver.reqs[0].Event
	if got := summarize(lastN(ev.Exceptions[0].Frames, 4)); !reflect.DeepEqual(got, wantBundleFrames) {
		t.Errorf("stored frames\n got %+v\nwant %+v", got, wantBundleFrames)
	}
	if len(maps.queries) != 1 || maps.queries[0].DebugID != debugIDA {
		t.Errorf("queries %+v, want one by debug ID %s", maps.queries, debugIDA)
	}
	if saver.reqs[0].Culprit != "src/cart.js in lineTotal" {
		t.Errorf("culprit %q", saver.reqs[0].Culprit)
	}
}

// projectKey is the ingest key set of one project, of that ID.
type projectKey int64

func (p projectKey) ProjectForKey(_ context.Context, key string) (ingest.Key, bool, error) {
	return ingest.Key{ProjectID: int64(p)}, key == "public", nil
}

// Build A uploaded as sentry-cli uploads an injected build, without a
// release, with its debug ID written otherwise than the canonical form
// ingest reads the event's into (capitals without dashes, in braces):
// the processor finds the map by the event's debug ID all the same.
func TestUploadedDebugIDSpellingsThroughIngest(t *testing.T) {
	for _, written := range []string{
		strings.ToUpper(strings.ReplaceAll(debugIDA, "-", "")),
		"{" + strings.ToUpper(debugIDA) + "}",
	} {
		t.Run(written, func(t *testing.T) {
			_, p, _, maps := newStore(t, "web")
			uploadBundle(t, maps, p.ID, "",
				artifact.BundleFile{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", DebugID: written, Data: readFile(t, "testdata/build-a/app.min.js")},
				artifact.BundleFile{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: written, Data: readFile(t, "testdata/build-a/app.min.js.map")})

			q := &bodies{}
			h := ingest.New(ingest.Config{IPSalt: []byte("salt")}, projectKey(p.ID), q, nil)
			rq := httptest.NewRequest(http.MethodPost, "/api/"+strconv.FormatInt(p.ID, 10)+"/store/", strings.NewReader(browserEvent))
			rq.Header.Set("X-Sentry-Auth", "Sentry sentry_key=public, sentry_version=7")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, rq)
			if rec.Code != http.StatusOK || len(q.list) != 1 {
				t.Fatalf("ingest: HTTP %d, %d queued: %s", rec.Code, len(q.list), rec.Body)
			}
			saver := &recordingSaver{}
			out := process.New(process.Config{Saver: saver, Symbolicator: New(Config{Maps: maps})}).ProcessBatch(context.Background(), q.list)
			if out[0].Err != nil {
				t.Fatal(out[0].Err)
			}
			ev := saver.reqs[0].Event
			// With the minified file uploaded, the outermost frame is
			// named by its enclosing function in the source.
			if got := summarize(lastN(ev.Exceptions[0].Frames, 4)); !reflect.DeepEqual(got, wantNamedFrames) {
				t.Errorf("stored frames\n got %+v\nwant %+v\nnotes %q", got, wantNamedFrames, ev.Notes)
			}
		})
	}
}
