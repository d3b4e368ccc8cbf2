package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
)

// processingQueue processes each event as it is enqueued, so a test runs
// ingest, processor and store in one call.
type processingQueue struct {
	p   *process.Processor
	res store.SaveResult
}

func (q *processingQueue) Enqueue(ctx context.Context, body []byte) error {
	out := q.p.ProcessBatch(ctx, [][]byte{body})[0]
	q.res = out.Result
	return out.Err
}

func (q *processingQueue) EnqueueBatch(ctx context.Context, bodies [][]byte) error {
	for _, b := range bodies {
		if err := q.Enqueue(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// oneKey is an ingest.Keys with a single key.
type oneKey struct {
	key     string
	project int64
}

func (k oneKey) ProjectForKey(_ context.Context, key string) (ingest.Key, bool, error) {
	return ingest.Key{ProjectID: k.project}, key == k.key, nil
}

// TestIssuePageFlytrapCodeContext is issue 8's acceptance: an error from
// an original Flytrap SDK, with the 11-line code context they really send
// (JSON-encoded twice), shows its line highlighted with five lines either
// side, numbered and escaped.
func TestIssuePageFlytrapCodeContext(t *testing.T) {
	f := newFixture(t)
	var src []string
	for n := 37; n <= 47; n++ {
		src = append(src, fmt.Sprintf(`  const v%d = "<b>%d</b>" && 1;`, n, n))
	}
	inner, _ := json.Marshal(strings.Join(src, "\n"))
	context, _ := json.Marshal(string(inner))
	body := fmt.Sprintf(`{"data":{"error":{"name":"TypeError","message":"Cannot read properties of undefined (reading 'total')",`+
		`"stack":"TypeError: Cannot read properties of undefined (reading 'total')\n    at checkout (/srv/shop/routes/checkout.js:42:13)\n    at Layer.handle (/srv/shop/node_modules/express/lib/router/layer.js:95:5)"},`+
		`"codeContexts":[{"file":"/srv/shop/routes/checkout.js","line":42,"column":13,"context":%s}],`+
		`"handled":false,"timestamp":"2026-11-22T11:00:00Z","project_id":"%d","method":"GET","path":"/checkout","ip":"203.0.113.9, 10.0.0.1","os":"Linux","runtime":"Node.js v20.11.0"}}`,
		context, f.web.ID)

	q := &processingQueue{p: process.New(process.Config{Saver: f.db})}
	h := ingest.New(ingest.Config{IPSalt: []byte("salt")}, oneKey{f.webKey.PublicKey, f.web.ID}, q, nil)
	r := httptest.NewRequest(http.MethodPost, "/api/errors", bytes.NewReader([]byte(body)))
	r.Header.Set("x-api-key", f.webKey.PublicKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("ingest answered %d: %s", rec.Code, rec.Body)
	}

	page := f.get(roleMember, issuePath(q.res.IssueID))
	wantStatus(t, page, http.StatusOK)
	want := []string{`<div class="frame in-app">`, `<details class="frame-details" open>`}
	for n := 37; n <= 47; n++ {
		li := "<li>"
		if n == 42 {
			li = `<li class="current">`
		}
		want = append(want, fmt.Sprintf(`%s<span class="ln">%d</span><code>  const v%d = &#34;&lt;b&gt;%d&lt;/b&gt;&#34; &amp;&amp; 1;</code></li>`, li, n, n, n))
	}
	wantBody(t, page, want...)
	// Exactly the eleven lines, one of them highlighted.
	code := regexp.MustCompile(`(?s)<ol class="code">(.*?)</ol>`).FindStringSubmatch(page.Body)
	if code == nil {
		t.Fatal("no code context on the page")
	}
	if n, cur := strings.Count(code[1], "<li"), strings.Count(code[1], `class="current"`); n != 11 || cur != 1 {
		t.Errorf("%d lines, %d highlighted; want 11 and 1:\n%s", n, cur, code[1])
	}
	noBody(t, page, `\n`, `\"`, "<b>")
}
