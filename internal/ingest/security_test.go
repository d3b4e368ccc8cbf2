package ingest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/scrub"
)

// The report's request (QA finding #4), byte for byte.
const qaCSPReport = `{"csp-report":{"document-uri":"https://example.com/","violated-directive":"script-src","blocked-uri":"https://evil.example/x.js"}}`

// chromeCSPReport is what Chrome posts to a report-uri, with
// Content-Type application/csp-report (W3C CSP 2, section 4.4).
const chromeCSPReport = `{"csp-report":{"document-uri":"https://shop.example.com/cart?id=7","referrer":"https://www.google.com/","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"default-src 'self'; script-src 'self' https://cdn.example.com; report-uri https://flytrap.example.com/api/42/security/?sentry_key=` + testKey + `","disposition":"enforce","blocked-uri":"https://evil.example:8443/inject.js?c=1","line-number":12,"column-number":40,"source-file":"https://shop.example.com/cart","status-code":200,"script-sample":""}}`

// reportingAPIBatch is what Chrome posts to a report-to endpoint, with
// Content-Type application/reports+json: a batch mixing a CSP violation,
// an inline one, and a report of another kind.
const reportingAPIBatch = `[
 {"age":53531,"body":{"blockedURL":"https://evil.example/a.js","columnNumber":39,"disposition":"enforce","documentURL":"https://shop.example.com/","effectiveDirective":"script-src-elem","lineNumber":121,"originalPolicy":"script-src 'self'; report-to csp","referrer":"","sample":"","sourceFile":"https://shop.example.com/","statusCode":200},"type":"csp-violation","url":"https://shop.example.com/","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"},
 {"age":10,"body":{"blockedURL":"inline","disposition":"report","documentURL":"https://shop.example.com/","effectiveDirective":"script-src","originalPolicy":"script-src 'self'","sample":"alert(1)","statusCode":200},"type":"csp-violation","url":"https://shop.example.com/","user_agent":"Mozilla/5.0"},
 {"age":1,"body":{"id":"NavigatorVibrate","message":"deprecated"},"type":"deprecation","url":"https://shop.example.com/","user_agent":"Mozilla/5.0"}
]`

func securityReq(contentType, body string) req {
	return req{path: "/api/42/security/?sentry_key=" + testKey, header: map[string]string{"Content-Type": contentType, "User-Agent": "Mozilla/5.0 (Firefox/128.0)"}, body: []byte(body)}
}

// TestSecurityReports is QA finding #4: /api/{id}/security/ answered 404,
// so every CSP report a browser sent was lost. Each CSP report is an event
// titled and tagged as Sentry does, keyed by the sentry_key in the query.
func TestSecurityReports(t *testing.T) {
	t.Run("the report's curl", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		rec := securityReq("application/csp-report", qaCSPReport).do(h)
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		ev := q.only(t)
		if got := ev.Title(); got != "Blocked 'script' from 'evil.example'" {
			t.Errorf("title %q", got)
		}
		if !slices.Equal(ev.Fingerprint, []string{"csp", "directive:script-src", "blocked:evil.example"}) {
			t.Errorf("fingerprint %q", ev.Fingerprint)
		}
		if v, _ := ev.Tag("blocked-host"); v != "evil.example" {
			t.Errorf("blocked-host tag %q", v)
		}
		if ev.Request == nil || ev.Request.URL != "https://example.com/" {
			t.Errorf("request %+v, want the document's URL", ev.Request)
		}
		if ev.Logger != "csp" || ev.Level != "error" {
			t.Errorf("logger %q level %q", ev.Logger, ev.Level)
		}
		if !strings.Contains(rec.Body.String(), ev.EventID) {
			t.Errorf("response %s does not name the event", rec.Body)
		}
	})
	t.Run("Chrome's report-uri report, release and environment from the query", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		rq := securityReq("application/csp-report", chromeCSPReport)
		rq.path += "&sentry_release=web%401.2.3&sentry_environment=production"
		if rec := rq.do(h); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		ev := q.only(t)
		if got := ev.Title(); got != "Blocked 'script' from 'evil.example:8443'" {
			t.Errorf("title %q", got)
		}
		if ev.Release != "web@1.2.3" || ev.Environment != "production" {
			t.Errorf("release %q environment %q", ev.Release, ev.Environment)
		}
		if v, _ := ev.Tag("effective-directive"); v != "script-src-elem" {
			t.Errorf("effective-directive %q", v)
		}
		if v, _ := ev.Tag("blocked-uri"); v != "https://evil.example:8443/inject.js?c=1" {
			t.Errorf("blocked-uri %q", v)
		}
		var ctx map[string]map[string]any
		if err := json.Unmarshal(ev.Contexts, &ctx); err != nil || ctx["csp"]["original_policy"] == nil || ctx["csp"]["line_number"] != "12" {
			t.Errorf("contexts %s (%v), want the report in csp", ev.Contexts, err)
		}
		if !slices.Contains(ev.Request.Headers, [2]string{"User-Agent", "Mozilla/5.0 (Firefox/128.0)"}) || !slices.Contains(ev.Request.Headers, [2]string{"Referer", "https://www.google.com/"}) {
			t.Errorf("headers %q", ev.Request.Headers)
		}
	})
	t.Run("a Reporting API batch", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		if rec := securityReq("application/reports+json", reportingAPIBatch).do(h); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		evs := q.events(t)
		if len(evs) != 2 {
			t.Fatalf("%d events, want one per CSP report", len(evs))
		}
		if t0, t1 := evs[0].Title(), evs[1].Title(); t0 != "Blocked 'script' from 'evil.example'" || t1 != "Blocked unsafe inline 'script'" {
			t.Errorf("titles %q, %q", t0, t1)
		}
		if !slices.Contains(evs[0].Request.Headers, [2]string{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}) {
			t.Errorf("headers %q, want the report's user agent", evs[0].Request.Headers)
		}
		if st := h.Stats(); st.DroppedItems != 1 {
			t.Errorf("DroppedItems %d, want the deprecation report", st.DroppedItems)
		}
	})
	t.Run("Firefox: no effective-directive, the policy clause in violated-directive", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		body := `{"csp-report":{"blocked-uri":"data","document-uri":"https://shop.example.com/","original-policy":"img-src 'self'","referrer":"","violated-directive":"img-src 'self'"}}`
		if rec := securityReq("application/csp-report; charset=utf-8", body).do(h); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if ev := q.only(t); ev.Title() != "Blocked 'image' from 'data:'" {
			t.Errorf("title %q", ev.Title())
		}
	})
}

// TestSecurityReportScrubbed: what ingest builds from a CSP report holds no
// secret of the report's URLs once the processor has scrubbed it (QA: the
// csp context was scrubbed, the blocked-uri tag was not). The tags keep
// Relay's values until then, and the title and fingerprint, made of the
// blocked host, never held the query or the password.
func TestSecurityReportScrubbed(t *testing.T) {
	for _, tt := range []struct {
		name, blocked, title, tag string
		// contextKeeps: the csp context keeps the report's text, as
		// Relay's does, where the scrubber reads no URL in it.
		contextKeeps bool
	}{
		{"a URL", "https://bob:hunter2@evil.example/x.js?session=SEC_SESSION#access_token=SEC_FRAG", "Blocked 'script' from 'evil.example'", "", false},
		// Relay keeps a URL it cannot parse whole in the title and
		// fingerprint; here its query, fragment and password are cut.
		{"a URL that does not parse", "https://bob:hunter2@evil.example:bad/x.js?session=SEC_SESSION#access_token=SEC_FRAG",
			"Blocked 'script' from 'https://evil.example:bad/x.js'", "https://evil.example:bad/x.js", false},
		// Forged reports (QA): blocked URIs that are no URL with a
		// scheme and a host, which the scrubber reads as text.
		{"no scheme", "evil.example/x.js?token=SEC_2", "Blocked 'script' from 'evil.example/x.js'", "evil.example/x.js", false},
		{"a path", "/local/x.js?token=SEC_3", "Blocked 'script' from '/local/x.js'", "/local/x.js", false},
		{"scheme-relative", "//evil.example/x.js?token=SEC_1", "Blocked 'script' from '//evil.example/x.js'", "//evil.example/x.js", false},
		{"a port read as a scheme", "evil.example:8443/x?api_key=SEC_4", "Blocked 'script' from 'evil.example:8443/x'", "evil.example:8443/x", false},
		{"a password without an authority", "bob:SEC_PW@weird?token=SEC_Q", "Blocked 'script' from 'bob:weird'", "bob:weird", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			body, _ := json.Marshal(map[string]any{"csp-report": map[string]string{
				"document-uri": "https://shop.example.com/cb?step=2#access_token=SEC_DOC", "effective-directive": "script-src",
				"blocked-uri": tt.blocked, "referrer": "https://shop.example.com/login?password=SEC_REF"}})
			if rec := securityReq("application/csp-report", string(body)).do(h); rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			ev := q.only(t)
			if v, _ := ev.Tag("blocked-uri"); v != cmp.Or(tt.tag, tt.blocked) {
				t.Errorf("blocked-uri tag %q before scrubbing, want %q", v, cmp.Or(tt.tag, tt.blocked))
			}
			if got := ev.Title(); got != tt.title {
				t.Errorf("title %q, want %q", got, tt.title)
			}
			if fp := strings.Join(ev.Fingerprint, " "); strings.Contains(fp, "SEC_") || strings.Contains(fp, "hunter2") {
				t.Errorf("fingerprint %q holds a secret", fp)
			}
			scrub.Scrub(&ev, scrub.Config{Enabled: true})
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if tt.contextKeeps {
				ev.Contexts = nil
				b, _ = json.Marshal(ev)
			}
			if stored := string(b); strings.Contains(stored, "SEC_") || strings.Contains(stored, "hunter2") {
				t.Errorf("scrubbed event holds a secret:\n%s", stored)
			}
			if v, _ := ev.Tag("blocked-uri"); tt.tag == "" && (!strings.Contains(v, "session=[Filtered]") || !strings.Contains(v, "bob:[Filtered]@")) {
				t.Errorf("scrubbed blocked-uri tag %q, want it scrubbed as the csp context is", v)
			}
		})
	}
}

// TestSecurityGrouping: reports group by directive and blocked host, as
// Sentry's do, not by the blocked path or the page.
func TestSecurityGrouping(t *testing.T) {
	report := func(directive, blocked, page string) string {
		b, _ := json.Marshal(map[string]any{"csp-report": map[string]string{"document-uri": page, "effective-directive": directive, "violated-directive": directive, "blocked-uri": blocked}})
		return string(b)
	}
	h, q := newTestHandler(t, defaultKeys, nil)
	for _, body := range []string{
		report("script-src", "https://evil.example/a.js", "https://shop.example.com/"),
		report("script-src", "https://EVIL.example/b.js?x=1", "https://shop.example.com/cart"),
		report("script-src", "https://other.example/a.js", "https://shop.example.com/"),
		report("img-src", "https://evil.example/a.png", "https://shop.example.com/"),
	} {
		if rec := securityReq("application/csp-report", body).do(h); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	evs := q.events(t)
	fp := func(i int) string { return strings.Join(evs[i].Fingerprint, "|") }
	if fp(0) != fp(1) {
		t.Errorf("same directive and host: %q and %q, want one group", fp(0), fp(1))
	}
	if fp(0) == fp(2) || fp(0) == fp(3) {
		t.Errorf("another host or directive shares the group: %q %q %q", fp(0), fp(2), fp(3))
	}
}

// TestSecurityRefusals: a report needs the project's key; other bodies are
// told what was wrong; other kinds of reports are taken and dropped.
func TestSecurityRefusals(t *testing.T) {
	tests := []struct {
		name       string
		rq         req
		wantStatus int
		wantCode   string
	}{
		{"no key", req{path: "/api/42/security/", header: map[string]string{"Content-Type": "application/csp-report"}, body: []byte(qaCSPReport)}, 401, "missing_key"},
		{"key of another project", req{path: "/api/42/security/?sentry_key=" + otherKey, header: map[string]string{"Content-Type": "application/csp-report"}, body: []byte(qaCSPReport)}, 403, "wrong_project"},
		{"not a report type", securityReq("text/plain", qaCSPReport), 415, "unsupported_media_type"},
		{"no content type", securityReq("", qaCSPReport), 415, "unsupported_media_type"},
		{"not JSON", securityReq("application/csp-report", "csp!"), 400, "invalid_report"},
		{"an object without a report", securityReq("application/json", `{"hello":1}`), 400, "invalid_report"},
		{"over the event limit", securityReq("application/csp-report", `{"csp-report":{"script-sample":"`+strings.Repeat("a", DefaultMaxEventBytes)+`"}}`), 413, "too_large"},
		{"Expect-CT is dropped", securityReq("application/expect-ct-report+json", `{"expect-ct-report":{"hostname":"example.com","port":443}}`), 200, ""},
		{"HPKP is dropped", securityReq("application/json", `{"hostname":"example.com","known-pins":["pin-sha256=\"x\""]}`), 200, ""},
		{"the old csp-report path", req{path: "/api/42/csp-report/?sentry_key=" + testKey, header: map[string]string{"Content-Type": "application/csp-report"}, body: []byte(qaCSPReport)}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := tt.rq.do(h)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode != "" {
				if code, _ := errorResponse(t, rec); code != tt.wantCode {
					t.Errorf("code %q, want %q", code, tt.wantCode)
				}
				if len(q.bodies) != 0 {
					t.Error("queued an event")
				}
			}
		})
	}
	h, _ := newTestHandler(t, defaultKeys, nil)
	rec := req{method: "OPTIONS", path: "/api/42/security/", header: map[string]string{"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"}}.do(h)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight (the Reporting API sends one): %d %v", rec.Code, rec.Header())
	}
}

// TestHostileSecurityReports: report content is untrusted text. Odd types,
// huge values, fingerprint variables and deep nesting make an event with
// bounded text, or a 4xx, never a 5xx.
func TestHostileSecurityReports(t *testing.T) {
	long := strings.Repeat("\u202e<script>", 20000)
	bodies := []string{
		`{"csp-report":{"effective-directive":"` + long + `","blocked-uri":"https://` + long + `/x"}}`,
		`{"csp-report":{"effective-directive":"script-src","blocked-uri":"{{ default }}"}}`,
		`{"csp-report":{"effective-directive":["script-src"],"blocked-uri":{"a":1},"document-uri":7,"line-number":"x"}}`,
		`{"csp-report":null}`,
		`{"csp-report":{"blocked-uri":"javascript:alert(1)","violated-directive":"script-src \u0000\u001b[31m"}}`,
		`[` + strings.Repeat(`{"type":"csp-violation","body":{"blockedURL":"https://a.example/"}},`, 300) + `1]`,
		strings.Repeat(`{"csp-report":`, 5000) + `{}` + strings.Repeat(`}`, 5000),
		`[]`, `null`, `"csp"`,
	}
	for i, body := range bodies {
		h, q := newTestHandler(t, defaultKeys, unlimited)
		rec := securityReq("application/reports+json", body).do(h)
		if rec.Code >= 500 {
			t.Fatalf("body %d: status %d: %s", i, rec.Code, rec.Body)
		}
		for _, ev := range q.events(t) {
			if len(ev.Title()) > 2*maxBlockedText+100 {
				t.Errorf("body %d: a title of %d bytes", i, len(ev.Title()))
			}
			for _, f := range ev.Fingerprint {
				if strings.HasPrefix(f, "{{") {
					t.Errorf("body %d: fingerprint %q holds a variable", i, ev.Fingerprint)
				}
			}
		}
		if i == 0 {
			// The blocked URI is far over a tag's 200 characters: not a
			// tag, as in Relay, and a note says so.
			ev := q.events(t)[0]
			if _, ok := ev.Tag("blocked-uri"); ok || !hasNote(&ev, `"blocked-uri" (the value is longer than 200 characters)`) {
				t.Errorf("body 0: a blocked-uri over the tag limit: tags %q notes %q", ev.Tags, ev.Notes)
			}
		}
		if i == 5 && len(q.bodies) != maxSecurityReports {
			t.Errorf("a batch of 300 reports made %d events, want %d", len(q.bodies), maxSecurityReports)
		}
	}
}

func FuzzSecurityReport(f *testing.F) {
	for _, s := range []string{qaCSPReport, chromeCSPReport, reportingAPIBatch} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, q := newTestHandler(t, defaultKeys, unlimited)
		rec := securityReq("application/csp-report", string(body)).do(h)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, ev := range q.events(t) {
			checkSaneEvent(t, &ev)
		}
	})
}

// TestUnsupportedUploads: minidump and Unreal crash uploads, which Flytrap
// cannot process, are refused with a message that says so and where to
// send errors instead, not a 404 that reads as a wrong URL.
func TestUnsupportedUploads(t *testing.T) {
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("upload_file_minidump", "crash.dmp")
	fw.Write([]byte("MDMP\x93\xa7"))
	mw.Close()
	for _, path := range []string{"/api/42/minidump/?sentry_key=" + testKey, "/api/42/minidump", "/api/42/unreal/" + testKey + "/", "/api/42/unreal/" + testKey} {
		h, q := newTestHandler(t, defaultKeys, nil)
		rec := req{path: path, header: map[string]string{"Content-Type": mw.FormDataContentType()}, body: form.Bytes()}.do(h)
		code, msg := errorResponse(t, rec)
		if rec.Code != http.StatusBadRequest || code != "unsupported_upload" || !strings.Contains(msg, "/api/{project_id}/envelope/") || !strings.Contains(msg, "symbolication") {
			t.Errorf("%s: %d %q %q, want 400 unsupported_upload pointing to the envelope endpoint", path, rec.Code, code, msg)
		}
		if len(q.bodies) != 0 {
			t.Errorf("%s: queued an event", path)
		}
	}
}

// TestCSPInlineTitles: Chromium reports inline code under the -elem and
// -attr directives ("blocked-uri":"inline" with script-src-elem), which
// were titled "Blocked 'script' from 'inline:'".
func TestCSPInlineTitles(t *testing.T) {
	tests := []struct{ directive, blocked, want string }{
		{"script-src", "inline", "Blocked unsafe inline 'script'"},
		{"script-src-elem", "inline", "Blocked unsafe inline 'script'"},
		{"script-src-attr", "inline", "Blocked unsafe script attribute"},
		{"style-src-elem", "inline", "Blocked unsafe inline 'style'"},
		{"style-src-attr", "inline", "Blocked style attribute"},
		{"script-src", "'unsafe-inline'", "Blocked unsafe inline 'script'"},
		{"script-src-elem", "eval", "Blocked unsafe eval() 'script'"},
		{"script-src-elem", "", "Blocked unsafe 'script' element"},
		{"script-src-attr", "'self'", "Blocked unsafe script attribute"},
		{"img-src", "inline", "Blocked 'image' from 'inline:'"},
	}
	for _, tt := range tests {
		if got := cspMessage(tt.directive, tt.blocked, normalizeBlockedURI(tt.blocked)); got != tt.want {
			t.Errorf("%s blocking %q: %q, want %q", tt.directive, tt.blocked, got, tt.want)
		}
	}
	// Chromium 156's report of an inline <script>, through the handler.
	h, q := newTestHandler(t, defaultKeys, nil)
	report := `{"csp-report":{"document-uri":"https://shop.example.com/","referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'self'; report-uri /csp","disposition":"enforce","blocked-uri":"inline","line-number":9,"column-number":5,"source-file":"https://shop.example.com/","status-code":200,"script-sample":""}}`
	if rec := securityReq("application/csp-report", report).do(h); rec.Code != 200 {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if evs := q.events(t); len(evs) != 1 || evs[0].Title() != "Blocked unsafe inline 'script'" {
		t.Errorf("events %+v, want one titled Blocked unsafe inline 'script'", evs)
	}
}

// TestCSPCulprit: a CSP report's event names the violated directive and
// its sources as its culprit, as Relay does (QA: Chromium's reports made
// issues with an empty culprit). Chromium reports the directive's name
// alone, so its sources come from the policy the report carries.
func TestCSPCulprit(t *testing.T) {
	// What Chromium posted to a report-uri for a page served with
	// "default-src 'self'; img-src 'self' https://cdn.example.test;
	// report-uri /report" loading an image and a script from
	// evil.example.test, byte for byte.
	chromiumImg := `{"csp-report":{"document-uri":"http://127.0.0.1:19500/uri","referrer":"","violated-directive":"img-src","effective-directive":"img-src","original-policy":"default-src 'self'; img-src 'self' https://cdn.example.test; report-uri /report","disposition":"enforce","blocked-uri":"https://evil.example.test/x.png","line-number":1,"column-number":110,"source-file":"http://127.0.0.1:19500/uri","status-code":200,"script-sample":""}}`
	chromiumScript := `{"csp-report":{"document-uri":"http://127.0.0.1:19500/uri","referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"default-src 'self'; img-src 'self' https://cdn.example.test; report-uri /report","disposition":"enforce","blocked-uri":"https://evil.example.test/a.js","status-code":200,"script-sample":""}}`
	report := func(fields string) string { return `{"csp-report":{` + fields + `}}` }
	for _, tt := range []struct {
		name, contentType, body string
		want                    []string
	}{
		{"Chromium, img-src", "application/csp-report", chromiumImg, []string{"img-src 'self' https://cdn.example.test"}},
		// No script-src-elem nor script-src: default-src is enforced.
		{"Chromium, script-src-elem from default-src", "application/csp-report", chromiumScript, []string{"script-src-elem 'self'"}},
		{"Chrome's report", "application/csp-report", chromeCSPReport, []string{"script-src-elem 'self' https://cdn.example.com"}},
		// The Reporting API has no violatedDirective: the effective one.
		{"Reporting API batch", "application/reports+json", reportingAPIBatch, []string{"script-src-elem 'self'", "script-src 'self'"}},
		// Relay's own cases: a CSP 2 violated-directive carries the
		// sources, which are taken from it, not from the policy.
		{"CSP 2 clause", "application/csp-report", report(`"document-uri":"http://example.com","violated-directive":"style-src cdn.example.com","blocked-uri":"http://example.com/lol.css","effective-directive":"style-src","original-policy":"style-src 'self'"`),
			[]string{"style-src cdn.example.com"}},
		{"MSDN's example", "application/csp-report", report(`"document-uri":"https://example.com/foo/bar","referrer":"https://www.google.com/","violated-directive":"default-src self","original-policy":"default-src self; report-uri /csp-hotline.php","blocked-uri":"http://evilhackerscripts.com"`),
			[]string{"default-src self"}},
		// Firefox spells 'self' out as the document's origin.
		{"Firefox, the document's origin", "application/csp-report", report(`"document-uri":"https://shop.example.com/cart","violated-directive":"img-src https://shop.example.com data: shop.example.com 'none'","blocked-uri":"https://evil.example/x.png"`),
			[]string{"img-src 'self' data: 'self' 'none'"}},
		{"a document of another scheme", "application/csp-report", report(`"document-uri":"chrome-extension://abc/page.html","violated-directive":"script-src cdn.example.com","blocked-uri":"https://evil.example/x.js"`),
			[]string{"script-src chrome-extension://cdn.example.com"}},
		{"a directive the policy leaves out", "application/csp-report", report(`"document-uri":"https://shop.example.com/","violated-directive":"form-action","original-policy":"default-src 'self'","blocked-uri":"https://evil.example/post"`),
			[]string{"form-action"}},
		{"the first clause of a name", "application/csp-report", report(`"document-uri":"https://shop.example.com/","effective-directive":"IMG-SRC","original-policy":" img-src  https://a.example ;img-src https://b.example","blocked-uri":"https://evil.example/x.png"`),
			[]string{"img-src https://a.example"}},
		{"no directive", "application/csp-report", report(`"document-uri":"https://shop.example.com/","blocked-uri":"https://evil.example/x.js"`), []string{""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			if rec := securityReq(tt.contentType, tt.body).do(h); rec.Code != 200 {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			var got []string
			for _, ev := range q.events(t) {
				got = append(got, ev.SDKCulprit)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("culprits %q, want %q", got, tt.want)
			}
		})
	}

	// A long policy makes a culprit of a few hundred characters at most,
	// whole sources but the last.
	var hosts []string
	for i := range 200 {
		hosts = append(hosts, fmt.Sprintf("https://cdn%d.example.com", i))
	}
	h, q := newTestHandler(t, defaultKeys, nil)
	body := report(`"document-uri":"https://shop.example.com/","violated-directive":"script-src","original-policy":"script-src ` + strings.Join(hosts, " ") + `","blocked-uri":"https://evil.example/x.js"`)
	if rec := securityReq("application/csp-report", body).do(h); rec.Code != 200 {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if c := q.only(t).SDKCulprit; !strings.HasPrefix(c, "script-src https://cdn0.example.com https://cdn1.example.com") || len(c) > maxName+10 {
		t.Errorf("culprit of a long policy %q (%d bytes)", c, len(c))
	}
}
