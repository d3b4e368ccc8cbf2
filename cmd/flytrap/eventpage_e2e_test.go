package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	sentryhttp "github.com/getsentry/sentry-go/http"
)

// TestSentryGoRequestBodyAndContexts sends two panics of a handler
// wrapped by sentryhttp with the real sentry-go collecting request bodies
// (DataCollection HTTPBodies), one of a JSON body and one of a form body,
// with a custom context, and reads the issue page: each body is a list of
// its fields with the password filtered, not an escaped JSON string, and
// each context a card.
func TestSentryGoRequestBodyAndContexts(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	hub := newHub(t, p.info.DSN, "shop@1", "production", func(o *sentry.ClientOptions) {
		o.DataCollection = &sentry.DataCollection{HTTPBodies: []sentry.BodyType{sentry.BodyIncomingRequest}}
	})
	hub.Scope().SetContext("order", sentry.Context{"id": 42, "items": []map[string]any{{"sku": "A-1", "qty": 2}}})
	handler := sentryhttp.New(sentryhttp.Options{}).HandleFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		panic("order refused: " + r.Header.Get("Content-Type") + " " + fmt.Sprint(len(body)))
	})
	post := func(contentType, body string) {
		req := httptest.NewRequest("POST", "http://shop.example/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		handler.ServeHTTP(httptest.NewRecorder(), req.WithContext(sentry.SetHubOnContext(req.Context(), hub)))
	}
	post("application/json", `{"item":"book","qty":2,"note":"café","password":"hunter2"}`)
	post("application/x-www-form-urlencoded", "a=1&b=caf%C3%A9&note=see+you&password=hunter2")
	if !hub.Flush(5 * time.Second) {
		t.Fatal("sentry-go did not flush")
	}
	c := p.login(t, email, password)
	for _, tc := range []struct {
		title string
		want  []string
	}{
		{"order refused: application/json", []string{`<code>item</code></td><td class="wrap"><code>book</code>`,
			`<code>qty</code></td><td class="wrap"><code>2</code>`, `<code>note</code></td><td class="wrap"><code>café</code>`,
			`<code>password</code></td><td class="wrap"><code>[Filtered]</code>`}},
		{"order refused: application/x-www-form-urlencoded", []string{`<code>a</code></td><td class="wrap"><code>1</code>`,
			`<code>b</code></td><td class="wrap"><code>café</code>`, `<code>note</code></td><td class="wrap"><code>see you</code>`,
			`<code>password</code></td><td class="wrap"><code>[Filtered]</code>`}},
	} {
		is := p.waitIssue(t, tc.title, 1)
		resp, err := c.Get(fmt.Sprintf("%s/issues/%d", p.base, is.ID))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := append(tc.want, `<h3>Contexts</h3>`, `<h4>order</h4>`, `<dt>items</dt><dd><code>[{&#34;qty&#34;:2,&#34;sku&#34;:&#34;A-1&#34;}]</code></dd>`,
			`<h4>Operating System</h4>`, `<h4>Runtime</h4>`, `<h4>Device</h4>`)
		for _, w := range want {
			if !strings.Contains(string(page), w) {
				t.Errorf("%s: the issue page lacks %s", tc.title, w)
			}
		}
		for _, not := range []string{"hunter2", `Request body`, `\&#34;`} {
			if strings.Contains(string(page), not) {
				t.Errorf("%s: the issue page holds %s", tc.title, not)
			}
		}
	}
}
