package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// sourceLines is lines from..to of a file.
func sourceLines(prefix string, from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("%s line %d <i>&</i>", prefix, n))
	}
	return out
}

// sdkContext encodes lines as the original SDKs put them in "context": a
// JSON string, itself a JSON string in the body.
func sdkContext(lines []string) string {
	inner, _ := json.Marshal(strings.Join(lines, "\n"))
	outer, _ := json.Marshal(string(inner))
	return string(outer)
}

// noRedirects is a client that reports redirects instead of following them,
// as browsers do for a CORS preflight.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func send(t *testing.T, method, u string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, u, resp.StatusCode, b)
	}
	return resp
}

// latestFrames returns the frames of the issue's latest event.
func (p *devProc) latestFrames(t *testing.T, id int64) []event.Frame {
	t.Helper()
	var is issue
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", id), nil, &is); code != 200 || is.LatestEvent == nil {
		t.Fatalf("issue %d: HTTP %d, %+v", id, code, is)
	}
	var ev event.Event
	if err := json.Unmarshal(is.LatestEvent.Event, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Exceptions) == 0 {
		t.Fatalf("issue %d's event has no exception", id)
	}
	return ev.Exceptions[len(ev.Exceptions)-1].Frames
}

// login signs in to the dashboard as a browser would.
func (p *devProc) login(t *testing.T, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(p.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	resp, err = c.PostForm(p.base+"/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path == "/login" {
		t.Fatalf("sign-in failed: HTTP %d", resp.StatusCode)
	}
	return c
}

// TestOriginalSDKShapes sends what the original Flytrap SDKs and a current
// Sentry browser SDK really send, through an endpoint configured with a
// trailing slash, and checks issue 8's acceptance on `flytrap dev`.
func TestOriginalSDKShapes(t *testing.T) {
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=ops@example.com", "FLYTRAP_ADMIN_PASSWORD=s3cret-passw0rd"})
	origin := map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
	flytrapHeaders := map[string]string{"Content-Type": "application/json", "x-api-key": p.info.APIKey, "Origin": "http://localhost:5173"}

	// flytrap_express configured with apiEndpoint "http://host/".
	resp := send(t, http.MethodOptions, p.base+"//api/errors", origin, "")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight of //api/errors: headers %v", resp.Header)
	}
	server := fmt.Sprintf(`{"data":{"error":{"name":"TypeError","message":"Cannot read properties of undefined (reading 'total')",`+
		`"stack":"TypeError: Cannot read properties of undefined (reading 'total')\n    at checkout (/srv/shop/routes/checkout.js:42:13)\n    at Layer.handle [as handle_request] (/srv/shop/node_modules/express/lib/router/layer.js:95:5)"},`+
		`"codeContexts":[{"file":"/srv/shop/routes/checkout.js","line":42,"column":13,"context":%s}],"handled":false,"timestamp":"2026-11-22T11:00:00.000Z",`+
		`"project_id":"%d","method":"POST","path":"/checkout","ip":"203.0.113.9, 10.0.0.1","os":"Linux 6.8","runtime":"Node.js v20.11.0"}}`,
		sdkContext(sourceLines("server", 37, 47)), p.info.ProjectID)
	send(t, http.MethodPost, p.base+"//api/errors", flytrapHeaders, server)
	// The same client behind another proxy is the same user.
	send(t, http.MethodPost, p.base+"//api/errors", flytrapHeaders, strings.Replace(server, "203.0.113.9, 10.0.0.1", "203.0.113.9, 10.0.0.7", 1))
	is := p.waitIssue(t, "TypeError: Cannot read properties of undefined (reading 'total')", 2)
	if is.UserCount != 1 {
		t.Errorf("Express errors from one forwarded client count %d users, want 1", is.UserCount)
	}
	frames := p.latestFrames(t, is.ID)
	f := frames[len(frames)-1]
	want := sourceLines("server", 37, 47)
	if f.Lineno != 42 || f.ContextLine != want[5] || strings.Join(f.PreContext, "\n") != strings.Join(want[:5], "\n") || strings.Join(f.PostContext, "\n") != strings.Join(want[6:], "\n") {
		t.Errorf("frame %s:%d context:\npre %q\nline %q\npost %q", f.AbsPath, f.Lineno, f.PreContext, f.ContextLine, f.PostContext)
	}

	// The issue page shows line 42 highlighted with five lines either side.
	c := p.login(t, "ops@example.com", "s3cret-passw0rd")
	r, err := c.Get(fmt.Sprintf("%s/issues/%d", p.base, is.ID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r.Body)
	r.Body.Close()
	code := regexp.MustCompile(`(?s)<ol class="code">(.*?)</ol>`).FindSubmatch(page)
	if r.StatusCode != 200 || code == nil {
		t.Fatalf("issue page: HTTP %d without code context", r.StatusCode)
	}
	for n := 37; n <= 47; n++ {
		li := "<li>"
		if n == 42 {
			li = `<li class="current">`
		}
		if line := fmt.Sprintf(`%s<span class="ln">%d</span><code>server line %d &lt;i&gt;&amp;&lt;/i&gt;</code></li>`, li, n, n); !strings.Contains(string(code[1]), line) {
			t.Errorf("issue page lacks %s in:\n%s", line, code[1])
		}
	}
	if n := strings.Count(string(code[1]), "<li"); n != 11 {
		t.Errorf("issue page shows %d lines, want 11", n)
	}

	// flytrap_javascript in a browser: the file is the stack-line fragment.
	browser := fmt.Sprintf(`{"data":{"error":{"name":"ReferenceError","message":"cart is not defined",`+
		`"stack":"ReferenceError: cart is not defined\n    at renderCart (http://localhost:5173/src/app.js:42:11)\n    at HTMLButtonElement.<anonymous> (http://localhost:5173/src/main.js:3:3)"},`+
		`"codeContexts":[{"file":"at renderCart (http://localhost:5173/src/app.js","line":42,"column":11,"context":%s},`+
		`{"file":"at HTMLButtonElement.<anonymous> (http://localhost:5173/src/main.js","line":3,"column":3,"context":%s}],`+
		`"handled":false,"timestamp":"2026-11-22T11:00:00.000Z","project_id":"%d","method":null,"path":null,"ip":"198.51.100.4","os":"Mac OS 10.15.7","browser":"Chrome 131.0.0.0"}}`,
		sdkContext(sourceLines("browser", 37, 47)), sdkContext(sourceLines("main", 1, 8)), p.info.ProjectID)
	send(t, http.MethodPost, p.base+"//api/errors", flytrapHeaders, browser)
	is = p.waitIssue(t, "ReferenceError: cart is not defined", 1)
	frames = p.latestFrames(t, is.ID)
	if f := frames[len(frames)-1]; f.Function != "renderCart" || f.ContextLine != "browser line 42 <i>&</i>" || len(f.PreContext) != 5 || len(f.PostContext) != 5 {
		t.Errorf("browser frame %+v", f)
	}
	if f := frames[0]; f.ContextLine != "main line 3 <i>&</i>" || len(f.PreContext) != 2 || len(f.PostContext) != 5 {
		t.Errorf("browser frame at line 3 (lines 1-8 sent, clamped at the file's start): %+v", f)
	}

	// @sentry/browser for an anonymous visitor: no user, infer_ip "auto".
	for i := range 2 {
		env := fmt.Sprintf(`{"event_id":"%032x","sent_at":"2026-11-22T11:00:00.000Z","sdk":{"name":"sentry.javascript.browser","version":"9.1.0"}}`+"\n"+
			`{"type":"event"}`+"\n"+
			`{"event_id":"%032x","platform":"javascript","exception":{"values":[{"type":"RangeError","value":"anonymous visitor broke it"}]},"sdk":{"name":"sentry.javascript.browser","version":"9.1.0","settings":{"infer_ip":"auto"}}}`+"\n",
			i+1, i+1)
		send(t, http.MethodPost, fmt.Sprintf("%s//api/%d/envelope/?sentry_key=%s", p.base, p.info.ProjectID, p.info.APIKey),
			map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://localhost:5173"}, env)
	}
	is = p.waitIssue(t, "RangeError: anonymous visitor broke it", 2)
	if is.UserCount != 1 {
		t.Errorf("an anonymous browser user counts %d users, want 1", is.UserCount)
	}
}
