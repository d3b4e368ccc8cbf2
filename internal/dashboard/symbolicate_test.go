package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/symbolicate"
)

const (
	minifiedURL = "https://shop.example.com/static/app.min.js"
	// minifiedMap maps lines 1 and 2 of app.min.js to lines 1 and 2 of
	// src/cart.js; what line 1 calls is lineTotal.
	minifiedMap = `{"version":3,"file":"app.min.js","sources":["../src/cart.js"],"names":["lineTotal"],` +
		`"sourcesContent":["function lineTotal(item) {\n  throw new RangeError('negative quantity');\n}\n"],"mappings":"AAAAA;AACA"}`
)

// fakeMaps is an artifact store holding whatever maps a test uploads.
type fakeMaps struct {
	mu   sync.Mutex
	maps map[string]artifact.Map
	err  error
}

func (f *fakeMaps) Find(_ context.Context, q artifact.Query) (artifact.Map, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return artifact.Map{}, f.err
	}
	if m, ok := f.maps[q.AbsPath]; ok {
		return m, nil
	}
	return artifact.Map{}, artifact.ErrNotFound
}

// Source has no minified files: these maps were uploaded alone.
func (f *fakeMaps) Source(context.Context, string) ([]byte, error) {
	return nil, artifact.ErrBlobNotFound
}

func (f *fakeMaps) upload() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maps[minifiedURL] = artifact.Map{Key: "k1", File: "~/static/app.min.js", Body: []byte(minifiedMap)}
}

// minifiedEvent is an event the processor stored before its map was
// uploaded: its frames as sent, each saying why it is not mapped.
func minifiedEvent(projectID int64, id string) *event.Event {
	return &event.Event{EventID: id, ProjectID: projectID, Platform: "javascript", Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute),
		Exceptions: []event.Exception{{Type: "RangeError", Value: "negative quantity", Frames: []event.Frame{
			{Filename: minifiedURL, AbsPath: minifiedURL, Function: "a", Lineno: 1, Colno: 1, InApp: ptr(true), Unmapped: event.UnmappedNoMap},
			{Filename: minifiedURL, AbsPath: minifiedURL, Function: "u", Lineno: 2, Colno: 1, InApp: ptr(true), Unmapped: event.UnmappedNoMap},
		}}},
		Notes: []string{"symbolication: no source map uploaded for " + minifiedURL}}
}

// storedEvent reads an event back from the store.
func (f *fixture) storedEvent(issueID int64, id string) event.Event {
	f.t.Helper()
	row, err := f.db.GetIssueEvent(f.ctx, store.System, issueID, id)
	f.must(err)
	var ev event.Event
	f.must(json.Unmarshal(row.Payload, &ev))
	return ev
}

func TestResymbolicate(t *testing.T) {
	maps := &fakeMaps{maps: map[string]artifact.Map{}}
	f := newFixture(t, func(c *Config) { c.Symbolicator = symbolicate.New(symbolicate.Config{Maps: maps}) })
	const id = "55555555555555555555555555555555"
	issue := f.save(minifiedEvent(f.web.ID, id)).IssueID
	page := issuePath(issue) + "?event=" + id
	action := issuePath(issue) + "/events/" + id + "/symbolicate"

	r := f.get(roleMember, page)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `action="`+action+`"`, "Re-symbolicate", `<span class="badge unmapped" title="No uploaded source map`, "no source map</span>",
		"2 frames not mapped to source")
	noBody(t, r, "Minified frames") // nothing to toggle to yet

	// Before the upload, running again changes nothing and says so.
	r = f.post(roleMember, action, nil)
	wantRedirect(t, r, page)
	if msg := flashOf(t, r); !strings.HasPrefix(msg, "error: No frame of this event could be mapped") {
		t.Errorf("flash %q", msg)
	}

	before, err := f.db.GetIssue(f.ctx, store.System, issue)
	f.must(err)
	if !strings.Contains(before.Culprit, "app.min.js") {
		t.Fatalf("issue culprit %q before the map, want the minified file", before.Culprit)
	}

	// The map arrives: the next run maps the frame and keeps the one sent.
	maps.upload()
	for _, refused := range []struct {
		name   string
		req    request
		status int
	}{
		{"outsider", request{method: http.MethodPost, role: roleOutsider, path: action}, http.StatusNotFound},
		{"no CSRF token", request{method: http.MethodPost, role: roleMember, path: action, noCSRF: true}, http.StatusForbidden},
		{"event of another issue", request{method: http.MethodPost, role: roleMember, path: issuePath(f.issue) + "/events/" + id + "/symbolicate"}, http.StatusNotFound},
		{"GET", request{role: roleMember, path: action}, http.StatusNotFound},
	} {
		r := f.do(refused.req)
		if r.StatusCode != refused.status {
			t.Errorf("%s: HTTP %d, want %d", refused.name, r.StatusCode, refused.status)
		}
		if ev := f.storedEvent(issue, id); ev.Exceptions[0].RawFrames != nil {
			t.Fatalf("%s: the event was symbolicated", refused.name)
		}
	}
	r = f.post(roleMember, action, nil)
	wantRedirect(t, r, page)
	if msg := flashOf(t, r); msg != "ok: Event symbolicated again: every frame is mapped." {
		t.Errorf("flash %q", msg)
	}
	ev := f.storedEvent(issue, id)
	got, raw := ev.Exceptions[0].Frames[1], ev.Exceptions[0].RawFrames
	if got.Filename != "src/cart.js" || got.Lineno != 2 || got.Function != "lineTotal" || got.Unmapped != "" ||
		got.InApp == nil || !*got.InApp || strings.TrimSpace(got.ContextLine) != "throw new RangeError('negative quantity');" {
		t.Errorf("stored frame %+v, want src/cart.js:2 in lineTotal with its source line", got)
	}
	if len(raw) != 2 || raw[1].AbsPath != minifiedURL || raw[1].Function != "u" || raw[1].Unmapped != "" {
		t.Errorf("raw frames %+v, want the minified frame as sent", raw)
	}
	if len(ev.Notes) != 0 {
		t.Errorf("notes %q: the note about the missing map should be gone", ev.Notes)
	}
	// The issue's culprit follows its latest event, this one, and names
	// the mapped frame now (QA: it kept the minified one); its grouping
	// stays.
	is, err := f.db.GetIssue(f.ctx, store.System, issue)
	f.must(err)
	if is.Culprit != "src/cart.js in lineTotal" || is.Fingerprint != before.Fingerprint || is.Title != before.Title {
		t.Errorf("issue culprit %q, fingerprint %q, title %q; want src/cart.js in lineTotal, and %q and %q unchanged",
			is.Culprit, is.Fingerprint, is.Title, before.Fingerprint, before.Title)
	}

	// The page shows the original frame, and the minified one on request.
	r = f.get(roleMember, page)
	wantBody(t, r, `<p class="culprit">src/cart.js in lineTotal</p>`, "src/cart.js:2:1", "lineTotal", `<span class="button current" aria-current="true">Original frames</span>`,
		`href="`+issuePath(issue)+"?event="+id+`&amp;frames=minified">Minified frames</a>`)
	noBody(t, r, "app.min.js:2:1", "badge unmapped")
	r = f.get(roleMember, page+"&frames=minified")
	wantBody(t, r, "app.min.js:2:1", `<span class="button current" aria-current="true">Minified frames</span>`)
	noBody(t, r, "src/cart.js:2:1", "badge unmapped")
	// Switching frames keeps the page's environment.
	r = f.get(roleMember, page+"&environment=production&frames=minified")
	wantBody(t, r, `href="`+issuePath(issue)+"?environment=production&amp;event="+id+`">Original frames</a>`)
	r = f.get(roleMember, page+"&environment=production")
	wantBody(t, r, `href="`+issuePath(issue)+"?environment=production&amp;event="+id+`&amp;frames=minified">Minified frames</a>`)
}

func TestResymbolicateMapsUnreadable(t *testing.T) {
	maps := &fakeMaps{maps: map[string]artifact.Map{}, err: errors.New("s3: slow down")}
	f := newFixture(t, func(c *Config) { c.Symbolicator = symbolicate.New(symbolicate.Config{Maps: maps}) })
	const id = "66666666666666666666666666666666"
	issue := f.save(minifiedEvent(f.web.ID, id)).IssueID
	before := f.storedEvent(issue, id)
	r := f.post(roleMember, issuePath(issue)+"/events/"+id+"/symbolicate", url.Values{})
	wantRedirect(t, r, issuePath(issue))
	if msg := flashOf(t, r); !strings.Contains(msg, "could not be read just now") {
		t.Errorf("flash %q", msg)
	}
	if after := f.storedEvent(issue, id); !reflect.DeepEqual(after, before) {
		t.Errorf("a failed run changed the event")
	}
}

// TestResymbolicateScrubsTheCulprit: the culprit re-symbolication gives
// the issue is scrubbed with the project's settings, as the processor's
// is: a transaction's query token must not reach the issue list.
func TestResymbolicateScrubsTheCulprit(t *testing.T) {
	maps := &fakeMaps{maps: map[string]artifact.Map{}}
	f := newFixture(t, func(c *Config) { c.Symbolicator = symbolicate.New(symbolicate.Config{Maps: maps}) })
	const id = "88888888888888888888888888888888"
	ev := minifiedEvent(f.web.ID, id)
	ev.Transaction = "GET /reset?token=SEC_TX&step=2"
	issue := f.save(ev).IssueID
	maps.upload()
	r := f.post(roleMember, issuePath(issue)+"/events/"+id+"/symbolicate", nil)
	wantRedirect(t, r, issuePath(issue)+"?event="+id)
	is, err := f.db.GetIssue(f.ctx, store.System, issue)
	f.must(err)
	if is.Culprit != "GET /reset?token=[Filtered]&step=2" {
		t.Errorf("issue culprit %q, want the transaction with its token filtered", is.Culprit)
	}
}

// Without a Symbolicator there is no action to offer or take.
func TestResymbolicateNotConfigured(t *testing.T) {
	f := newFixture(t)
	const id = "77777777777777777777777777777777"
	issue := f.save(minifiedEvent(f.web.ID, id)).IssueID
	r := f.get(roleMember, issuePath(issue))
	noBody(t, r, "Re-symbolicate")
	wantBody(t, r, "no source map</span>")
	r = f.post(roleMember, issuePath(issue)+"/events/"+id+"/symbolicate", nil)
	wantStatus(t, r, http.StatusNotFound)
}

// An event of a release no map was uploaded for gets a note naming the
// releases that have the file: the SDK's and the uploader's release
// names are shown as text.
func TestOtherReleasesNoteEscaped(t *testing.T) {
	const release = `web@<img src=x onerror=alert(1)>`
	maps := &fakeMaps{err: &artifact.OtherReleasesError{File: "app.min.js", Release: release, Releases: []string{"web@<b>12</b>"}}}
	f := newFixture(t, func(c *Config) { c.Symbolicator = symbolicate.New(symbolicate.Config{Maps: maps}) })
	const id = "66666666666666666666666666666666"
	ev := minifiedEvent(f.web.ID, id)
	ev.Release = release
	issue := f.save(ev).IssueID
	page := issuePath(issue) + "?event=" + id
	wantRedirect(t, f.post(roleMember, issuePath(issue)+"/events/"+id+"/symbolicate", nil), page)
	if notes := f.storedEvent(issue, id).Notes; len(notes) != 1 || !strings.Contains(notes[0], "it was uploaded for web@<b>12</b>") {
		t.Errorf("notes %q, want one naming the other release", notes)
	}
	r := f.get(roleMember, page)
	wantBody(t, r, "for release web@&lt;img src=x onerror=alert(1)&gt;: it was uploaded for web@&lt;b&gt;12&lt;/b&gt;")
	noBody(t, r, "<img src=x", "<b>12</b>")
}
