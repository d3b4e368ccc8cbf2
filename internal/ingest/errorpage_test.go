package ingest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// reportEventID is the event the test reports are about, as the SDK sends
// it (captureException's ID, 32 hex digits).
const reportEventID = "5b1d9c2e0f3a4b6c8d7e9f0a1b2c3d4e"

// testDSN is the test project's DSN as @sentry/core's dsnToString writes
// it into the dialog's URL, unencoded.
const testDSN = "http://" + testKey + "@flytrap.example:8080/42"

// dialogPath is the URL showReportDialog builds, extra query parameters
// appended.
func dialogPath(extra string) string {
	return "/api/embed/error-page/?dsn=" + testDSN + "&eventId=" + reportEventID + extra
}

// dialogOptions decodes the options the script was written with.
func dialogOptions(t *testing.T, script string) dialogConfig {
	t.Helper()
	if !strings.HasPrefix(script, dialogHead) || !strings.HasSuffix(script, dialogTail) {
		t.Fatalf("the answer is not the dialog's script:\n%.300s", script)
	}
	var cfg dialogConfig
	if err := json.Unmarshal([]byte(script[len(dialogHead):len(script)-len(dialogTail)]), &cfg); err != nil {
		t.Fatalf("the options are not JSON: %v", err)
	}
	return cfg
}

// formBody encodes a report form.
func formBody(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}

// TestErrorPageScript GETs the dialog as showReportDialog's script tag
// does, with good and bad parameters: the script, with the page's texts
// written in as data, or a 4xx that says what to fix.
func TestErrorPageScript(t *testing.T) {
	hostile := "</script><script>alert(1)</script>\u2028\u2029<img src=x onerror=alert(2)>&amp;"
	tests := []struct {
		name     string
		method   string
		path     string
		wantCode int
		wantErr  string // the error code, for a refusal
		check    func(t *testing.T, body string, cfg dialogConfig)
	}{
		{name: "defaults", path: dialogPath(""), wantCode: 200, check: func(t *testing.T, _ string, cfg dialogConfig) {
			if cfg.Strings["title"] != dialogDefaults["title"] || cfg.Strings["labelSubmit"] != "Submit Crash Report" || cfg.Name != "" {
				t.Errorf("options %+v", cfg)
			}
			if !strings.HasPrefix(cfg.Endpoint, "http://example.com/api/embed/error-page/?dsn=") || !strings.Contains(cfg.Endpoint, "eventId="+reportEventID) {
				t.Errorf("endpoint %q, want this URL", cfg.Endpoint)
			}
			if cfg.Limits[reportComments] != event.MaxFeedbackMessage || cfg.Limits[reportName] != maxReportName || cfg.CSS == "" {
				t.Errorf("limits %v, css %d bytes", cfg.Limits, len(cfg.CSS))
			}
		}},
		{name: "options and user as the SDK sends them", wantCode: 200,
			// @sentry/core encodes every option it does not know,
			// onLoad's source included.
			path: dialogPath("&lang=fr&title=Oups&subtitle2=&labelSubmit=Envoyer&name=Ada%20Lovelace&email=ada%40example.com&onLoad=function%20()%20%7B%7D"),
			check: func(t *testing.T, _ string, cfg dialogConfig) {
				if cfg.Strings["title"] != "Oups" || cfg.Strings["subtitle2"] != "" || cfg.Strings["labelSubmit"] != "Envoyer" ||
					cfg.Strings["subtitle"] != dialogDefaults["subtitle"] || cfg.Name != "Ada Lovelace" || cfg.Email != "ada@example.com" {
					t.Errorf("options %+v", cfg)
				}
				if _, ok := cfg.Strings["onLoad"]; ok {
					t.Error("an unknown parameter became a text")
				}
			}},
		{name: "hostile texts stay data", wantCode: 200,
			path: dialogPath("&title=" + url.QueryEscape(hostile) + "&labelName=" + url.QueryEscape(hostile) + "&name=" + url.QueryEscape(hostile) + "&successMessage=" + url.QueryEscape(hostile)),
			check: func(t *testing.T, body string, cfg dialogConfig) {
				for _, bad := range []string{"</script", "<script", "<img", "\u2028", "\u2029", "&amp;"} {
					if strings.Contains(strings.ToLower(body), bad) {
						t.Errorf("the script holds %q as written", bad)
					}
				}
				if cfg.Strings["title"] != hostile || cfg.Strings["labelName"] != hostile || cfg.Strings["successMessage"] != hostile || cfg.Name != hostile {
					t.Errorf("the texts did not survive as data: %+v", cfg.Strings)
				}
			}},
		{name: "long option cut", wantCode: 200, path: dialogPath("&title=" + strings.Repeat("x", 5000)),
			check: func(t *testing.T, _ string, cfg dialogConfig) {
				if n := len(cfg.Strings["title"]); n > maxDialogOption+3 {
					t.Errorf("title of %d bytes", n)
				}
			}},
		{name: "dashed event ID", wantCode: 200, path: "/api/embed/error-page?dsn=" + testDSN + "&eventId=5B1D9C2E-0F3A-4B6C-8D7E-9F0A1B2C3D4E"},
		{name: "HEAD", method: http.MethodHead, path: dialogPath(""), wantCode: 200, check: func(t *testing.T, body string, _ dialogConfig) {
			if body != "" {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
		}},
		{name: "no dsn", path: "/api/embed/error-page/?eventId=" + reportEventID, wantCode: 400, wantErr: "invalid_dsn"},
		{name: "dsn not a URL", path: "/api/embed/error-page/?dsn=not%20a%20dsn&eventId=" + reportEventID, wantCode: 400, wantErr: "invalid_dsn"},
		{name: "dsn without key", path: "/api/embed/error-page/?dsn=http://flytrap.example/42&eventId=" + reportEventID, wantCode: 400, wantErr: "invalid_dsn"},
		{name: "dsn without project", path: "/api/embed/error-page/?dsn=http://" + testKey + "@flytrap.example/&eventId=" + reportEventID, wantCode: 400, wantErr: "invalid_dsn"},
		{name: "dsn with a UUID for project", path: "/api/embed/error-page/?dsn=http://" + testKey + "@flytrap.example/6bb1e190-aaaa&eventId=" + reportEventID, wantCode: 400, wantErr: "invalid_dsn"},
		{name: "unknown key", path: "/api/embed/error-page/?dsn=http://" + strings.Repeat("9", 32) + "@flytrap.example/42&eventId=" + reportEventID, wantCode: 401, wantErr: "unknown_key"},
		{name: "key of another project", path: "/api/embed/error-page/?dsn=http://" + otherKey + "@flytrap.example/42&eventId=" + reportEventID, wantCode: 403, wantErr: "wrong_project"},
		{name: "no eventId", path: "/api/embed/error-page/?dsn=" + testDSN, wantCode: 400, wantErr: "invalid_event_id"},
		{name: "bad eventId", path: "/api/embed/error-page/?dsn=" + testDSN + "&eventId=%3Cscript%3E", wantCode: 400, wantErr: "invalid_event_id"},
		{name: "nil eventId", path: "/api/embed/error-page/?dsn=" + testDSN + "&eventId=00000000000000000000000000000000", wantCode: 400, wantErr: "invalid_event_id"},
		{name: "PUT", method: http.MethodPut, path: dialogPath(""), wantCode: 405, wantErr: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			rec := req{method: method, path: tt.path, header: map[string]string{"Origin": "https://shop.example"}}.do(h)
			if rec.Code != tt.wantCode {
				t.Fatalf("%s: %d %s, want %d", tt.path, rec.Code, rec.Body, tt.wantCode)
			}
			// The SDK loads the script with crossorigin="anonymous".
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
				t.Errorf("Access-Control-Allow-Origin %q", got)
			}
			if tt.wantErr != "" {
				if code, msg := errorResponse(t, rec); code != tt.wantErr || msg == "" {
					t.Errorf("error %q %q, want %s", code, msg, tt.wantErr)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					// A browser must not run an error as the script.
					t.Errorf("refusal of Content-Type %q", ct)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, rec.Header().Get("Cache-Control"))
			}
			if n := len(q.events(t)); n != 0 {
				t.Errorf("the script's GET queued %d events", n)
			}
			var cfg dialogConfig
			if method == http.MethodGet {
				cfg = dialogOptions(t, rec.Body.String())
			}
			if tt.check != nil {
				tt.check(t, rec.Body.String(), cfg)
			}
		})
	}
}

// TestErrorPageReport posts the dialog's form as its script does and
// checks what is queued: user feedback about the event, through the same
// queue as every feedback, or a 4xx naming each field to fix.
func TestErrorPageReport(t *testing.T) {
	good := []string{"name", "Ada", "email", "ada@example.com", "comments", "  It broke when I paid  ", "url", "https://shop.example/cart?card=4111111111111111"}
	with := func(kv ...string) []string {
		out := append([]string(nil), good...)
		for i := 0; i+1 < len(kv); i += 2 {
			for j := 0; j+1 < len(out); j += 2 {
				if out[j] == kv[i] {
					out[j+1] = kv[i+1]
				}
			}
		}
		return out
	}
	hostile := `<script>alert(1)</script>"'&` + "\u2028"
	tests := []struct {
		name       string
		path       string
		header     map[string]string
		body       []byte
		wantCode   int
		wantErr    string
		wantFields []string // fields named in errors
		want       *event.Feedback
	}{
		{name: "good", body: formBody(good...), wantCode: 200,
			want: &event.Feedback{Message: "It broke when I paid", Name: "Ada", Email: "ada@example.com", URL: "https://shop.example/cart?card=4111111111111111",
				AssociatedEventID: reportEventID, Source: sourceErrorPage}},
		{name: "hostile text is kept as written", body: formBody(with("name", hostile, "comments", hostile)...), wantCode: 200,
			want: &event.Feedback{Message: strings.TrimSpace(hostile), Name: strings.TrimSpace(hostile), Email: "ada@example.com", URL: "https://shop.example/cart?card=4111111111111111",
				AssociatedEventID: reportEventID, Source: sourceErrorPage}},
		{name: "comments at the limit", body: formBody(with("comments", strings.Repeat("é", event.MaxFeedbackMessage))...), wantCode: 200},
		{name: "without url, the Referer", header: map[string]string{"Referer": "https://shop.example/"}, body: formBody("name", "Ada", "email", "ada@example.com", "comments", "x"), wantCode: 200,
			want: &event.Feedback{Message: "x", Name: "Ada", Email: "ada@example.com", URL: "https://shop.example/", AssociatedEventID: reportEventID, Source: sourceErrorPage}},
		{name: "charset in Content-Type", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}, body: formBody(good...), wantCode: 200},
		{name: "empty form", body: nil, wantCode: 400, wantErr: "invalid_report", wantFields: []string{"comments", "email", "name"}},
		{name: "blank comments", body: formBody(with("comments", " \n\t ")...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"comments"}},
		{name: "no name", body: formBody(with("name", "")...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"name"}},
		{name: "invalid email", body: formBody(with("email", "ada at example")...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"email"}},
		{name: "email with a display name", body: formBody(with("email", "Ada <ada@example.com>")...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"email"}},
		{name: "email too long", body: formBody(with("email", strings.Repeat("a", 250)+"@example.com")...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"email"}},
		{name: "comments too long", body: formBody(with("comments", strings.Repeat("x", event.MaxFeedbackMessage+1))...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"comments"}},
		{name: "name too long", body: formBody(with("name", strings.Repeat("n", maxReportName+1))...), wantCode: 400, wantErr: "invalid_report", wantFields: []string{"name"}},
		{name: "not a form", header: map[string]string{"Content-Type": "application/json"}, body: []byte(`{"comments":"x"}`), wantCode: 415, wantErr: "unsupported_media_type"},
		{name: "body too large", body: formBody(with("comments", strings.Repeat("x", maxReportBody))...), wantCode: 413, wantErr: "too_large"},
		{name: "bad form encoding", body: []byte("comments=%zz"), wantCode: 400, wantErr: "invalid_report"},
		{name: "bad dsn", path: "/api/embed/error-page/?dsn=nope&eventId=" + reportEventID, body: formBody(good...), wantCode: 400, wantErr: "invalid_dsn"},
		{name: "unknown key", path: "/api/embed/error-page/?dsn=http://" + strings.Repeat("9", 32) + "@h/42&eventId=" + reportEventID, body: formBody(good...), wantCode: 401, wantErr: "unknown_key"},
		{name: "bad eventId", path: "/api/embed/error-page/?dsn=" + testDSN + "&eventId=42", body: formBody(good...), wantCode: 400, wantErr: "invalid_event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			hdr := map[string]string{}
			for k, v := range formHeader {
				hdr[k] = v
			}
			for k, v := range tt.header {
				hdr[k] = v
			}
			path := tt.path
			if path == "" {
				path = dialogPath("&title=Oops")
			}
			rec := req{path: path, header: hdr, body: tt.body}.do(h)
			if rec.Code != tt.wantCode {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.wantCode)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
				t.Errorf("Access-Control-Allow-Origin %q", got)
			}
			if tt.wantErr != "" {
				var body errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				if body.Error.Code != tt.wantErr || body.Error.Message == "" {
					t.Errorf("error %+v, want %s", body.Error, tt.wantErr)
				}
				var fields []string
				for f, msgs := range body.Errors {
					if len(msgs) == 0 || msgs[0] == "" {
						t.Errorf("field %s named without a message", f)
					}
					fields = append(fields, f)
				}
				if strings.Join(slices.Sorted(slices.Values(fields)), ",") != strings.Join(tt.wantFields, ",") {
					t.Errorf("fields in error %v, want %v (%s)", fields, tt.wantFields, rec.Body)
				}
				if n := len(q.events(t)); n != 0 {
					t.Errorf("a refused report queued %d events", n)
				}
				return
			}
			var ok idBody
			if err := json.Unmarshal(rec.Body.Bytes(), &ok); err != nil {
				t.Fatal(err)
			}
			ev := q.only(t)
			if ev.EventID != ok.ID || ev.ProjectID != testProject || ev.Feedback == nil || ev.Timestamp.IsZero() {
				t.Fatalf("queued %+v for answer %q", ev, ok.ID)
			}
			if ev.EventID == reportEventID {
				t.Error("the report took the event's ID; each report gets its own")
			}
			if tt.want != nil && *ev.Feedback != *tt.want {
				t.Errorf("feedback %+v\nwant     %+v", *ev.Feedback, *tt.want)
			}
		})
	}
}

// TestErrorPageCORSAndLimits answers the preflight of any origin and
// refuses reports while processing is behind.
func TestErrorPageCORSAndLimits(t *testing.T) {
	h, _ := newTestHandler(t, defaultKeys, nil)
	rec := req{method: http.MethodOptions, path: dialogPath(""), header: map[string]string{
		"Origin": "https://other.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}}.do(h)
	hdr := rec.Header()
	if rec.Code != 200 || hdr.Get("Access-Control-Allow-Origin") != "https://other.example" ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "GET") || !strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "content-type") {
		t.Errorf("preflight: %d %v", rec.Code, hdr)
	}
	h, _ = newTestHandler(t, defaultKeys, func(c *Config) { c.Backlog = fixedBacklog(10); c.MaxBacklog = 5 })
	if code := postReport(h); code != 429 {
		t.Errorf("a report while processing is behind: %d, want 429", code)
	}
}

// TestErrorPageReportRate checks the form's budget of its own, both ways:
// a project over its event rate still takes reports, and reports, however
// many, leave the event rate alone; one address, then the project, over
// the form's budget gets a 429 the dialog shows, and another address or
// project is not held back.
func TestErrorPageReportRate(t *testing.T) {
	now := testNow
	h, q := newTestHandler(t, defaultKeys, func(c *Config) {
		c.RatePerMinute = 1
		c.ReportsPerMinute = 4
		c.ReportsPerClientPerMinute = 2
		c.Now = func() time.Time { return now }
	})
	post := func(remote string) *httptest.ResponseRecorder {
		return req{path: dialogPath(""), header: formHeader, body: reportForm, remote: remote + ":1234"}.do(h)
	}
	sendEvent := func() int {
		return req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}.do(h).Code
	}
	// The event rate spent: events are refused, reports are not.
	if code := sendEvent(); code != 200 {
		t.Fatalf("first event: %d", code)
	}
	if code := sendEvent(); code != 429 {
		t.Fatalf("event over the rate: %d, want 429", code)
	}
	for _, step := range []struct {
		client string
		code   int
	}{
		{"192.0.2.1", 200},
		{"192.0.2.1", 200},
		{"192.0.2.1", 429}, // this address's two a minute
		{"192.0.2.2", 200}, // another address is not held back
		{"192.0.2.3", 200},
		{"192.0.2.4", 429}, // the project's four a minute
	} {
		rec := post(step.client)
		if rec.Code != step.code {
			t.Fatalf("report from %s: %d %s, want %d", step.client, rec.Code, rec.Body, step.code)
		}
		if rec.Code != 429 {
			continue
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "report_rate_limited" ||
			!strings.Contains(body.Error.Message, "too many crash reports") || rec.Header().Get("Retry-After") == "" {
			t.Errorf("report from %s over the budget: %s Retry-After %q", step.client, rec.Body, rec.Header().Get("Retry-After"))
		}
	}
	if rec := (req{path: strings.Replace(dialogPath(""), "/42", "/43", 1), header: formHeader, body: reportForm}.do(h)); rec.Code == 429 {
		t.Errorf("another project's report: %d %s", rec.Code, rec.Body)
	}
	// A minute on, both budgets are back; the reports took nothing from
	// the events', which allows one event a minute.
	now = now.Add(time.Minute)
	if rec := post("192.0.2.1"); rec.Code != 200 {
		t.Errorf("report a minute on: %d %s", rec.Code, rec.Body)
	}
	if code := sendEvent(); code != 200 {
		t.Errorf("event a minute on, after the reports: %d, want 200", code)
	}
	feedback := 0
	for _, ev := range q.events(t) {
		if ev.Feedback != nil {
			feedback++
		}
	}
	if feedback != 5 {
		t.Errorf("queued %d reports, want 5", feedback)
	}
}

// TestReportLimitsBounded checks that the form's per-address buckets are
// bounded: a full map drops the buckets back to full, and refuses a new
// address while every bucket is in use.
func TestReportLimitsBounded(t *testing.T) {
	now := testNow
	l := newReportLimits(-1, 1, func() time.Time { return now })
	l.maxClients = 2
	for _, step := range []struct {
		ip      string
		advance time.Duration
		refused string
		clients int
	}{
		{"a", 0, "", 1},
		{"b", 0, "", 2},
		{"c", 0, "client", 2},                // a and b are within their minute
		{"c", time.Minute, "", 1},            // a and b are full again and dropped
		{"a", 0, "", 2},                      // a starts over with a new bucket
		{"a", 0, "client", 2},                // and spent it
		{"b", 30 * time.Second, "client", 2}, // c and a are still in use: no room
		{"b", 30 * time.Second, "", 1},       // a minute after a and c, both are dropped
	} {
		now = now.Add(step.advance)
		refused, _ := l.allow(42, step.ip)
		if refused != step.refused || len(l.clients) != step.clients {
			t.Errorf("%s at +%v: refused %q with %d buckets, want %q with %d", step.ip, now.Sub(testNow), refused, len(l.clients), step.refused, step.clients)
		}
	}
}

// reportForm is a valid report of the fewest words.
var reportForm = formBody("name", "A", "email", "a@example.com", "comments", "x")

// postReport posts reportForm and returns the status.
func postReport(h http.Handler) int {
	return req{path: dialogPath(""), header: formHeader, body: reportForm}.do(h).Code
}
