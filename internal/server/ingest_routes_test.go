package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// waitIssues polls until the project's issues satisfy done.
func waitIssues(t *testing.T, db *store.DB, pid int64, done func([]store.Issue) bool) []store.Issue {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		issues, _, err := db.ListIssues(context.Background(), store.System, store.IssueFilter{ProjectID: pid})
		if err != nil {
			t.Fatal(err)
		}
		if done(issues) {
			return issues
		}
		if time.Now().After(deadline) {
			t.Fatalf("issues = %+v", issues)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCSPReportsBecomeIssues (QA finding #4) posts browsers' CSP reports
// to a running server, as a page's report-uri and report-to would, and
// checks they become issues titled as Sentry titles them, one per
// directive and blocked host; crash uploads Flytrap cannot process get a
// 400 that says so.
func TestCSPReportsBecomeIssues(t *testing.T) {
	ctx := context.Background()
	s, db, b := devServer(t)
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Run(runCtx, ln)
	base := "http://" + ln.Addr().String() + "/api/" + itoa(b.Project.ID)
	post := func(path, contentType, body string) *http.Response {
		resp, err := http.Post(base+path, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	report := func(blocked, page string) string {
		return fmt.Sprintf(`{"csp-report":{"document-uri":%q,"violated-directive":"script-src","blocked-uri":%q}}`, page, blocked)
	}
	key := "?sentry_key=" + b.Key.PublicKey
	for _, body := range []string{report("https://evil.example/x.js", "https://example.com/"), report("https://evil.example/y.js", "https://example.com/cart"), report("https://cdn.other.example/z.js", "https://example.com/")} {
		if resp := post("/security/"+key, "application/csp-report", body); resp.StatusCode != 200 {
			t.Fatalf("report-uri report: %d", resp.StatusCode)
		}
	}
	batch := `[{"type":"csp-violation","age":1,"url":"https://example.com/","user_agent":"Mozilla/5.0","body":{"documentURL":"https://example.com/","blockedURL":"https://evil.example/w.js","effectiveDirective":"script-src-elem","disposition":"enforce","statusCode":200}}]`
	if resp := post("/security/"+key, "application/reports+json", batch); resp.StatusCode != 200 {
		t.Fatalf("Reporting API batch: %d", resp.StatusCode)
	}
	issues := waitIssues(t, db, b.Project.ID, func(is []store.Issue) bool {
		n := int64(0)
		for _, i := range is {
			n += i.Count
		}
		return n == 4
	})
	var got []string
	for _, i := range issues {
		got = append(got, fmt.Sprintf("%s ×%d", i.Title, i.Count))
	}
	slices.Sort(got)
	want := []string{"Blocked 'script' from 'cdn.other.example' ×1", "Blocked 'script' from 'evil.example' ×1", "Blocked 'script' from 'evil.example' ×2"}
	if !slices.Equal(got, want) {
		// script-src and script-src-elem are two directives, as in Sentry.
		t.Errorf("issues %q, want %q", got, want)
	}
	for _, path := range []string{"/minidump/" + key, "/unreal/" + b.Key.PublicKey + "/"} {
		resp, err := http.Post(base+path, "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 400 || out.Error.Code != "unsupported_upload" || !strings.Contains(out.Error.Message, "envelope") {
			t.Errorf("POST %s: %d %+v, want 400 unsupported_upload naming the envelope endpoint", path, resp.StatusCode, out)
		}
	}
}

// TestLargeEnvelopeOverHTTP (QA finding #5) sends an event with a 40 MiB
// attachment to a running server, through its read deadlines, and checks
// the event is stored.
func TestLargeEnvelopeOverHTTP(t *testing.T) {
	ctx := context.Background()
	s, db, b := devServer(t)
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Run(runCtx, ln)
	const size = 40 << 20
	head := fmt.Sprintf("{}\n{\"type\":\"event\"}\n{\"message\":\"crash with a 40 MiB minidump\"}\n{\"type\":\"attachment\",\"length\":%d,\"filename\":\"crash.dmp\",\"attachment_type\":\"event.minidump\"}\n", size)
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(zeros{}, size), strings.NewReader("\n"))
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/"+itoa(b.Project.ID)+"/envelope/", body)
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+b.Key.PublicKey)
	req.ContentLength = int64(len(head)) + size + 1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	waitIssues(t, db, b.Project.ID, func(is []store.Issue) bool {
		return len(is) == 1 && is[0].Title == "crash with a 40 MiB minidump"
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestCrashReportDialogStoresFeedback posts the crash-report dialog's form
// to a running server on both stores, as its script does after
// showReportDialog, once before the event it is about arrives and once
// after: both are stored as user feedback, scrubbed like other feedback,
// and listed on the event's issue.
func TestCrashReportDialogStoresFeedback(t *testing.T) {
	onEachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, b := devServerOn(t, db)
		ln := httptest.NewUnstartedServer(nil).Listener
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx, ln) }()
		defer func() { cancel(); <-done }()
		base := "http://" + ln.Addr().String()
		const eventID = "0123456789abcdef0123456789abcdef"
		dsn := "http://" + b.Key.PublicKey + "@" + ln.Addr().String() + "/" + itoa(b.Project.ID)
		dialog := base + "/api/embed/error-page/?dsn=" + dsn + "&eventId=" + eventID

		resp, err := http.Get(dialog + "&title=Oops")
		if err != nil {
			t.Fatal(err)
		}
		script, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(script), `"title":"Oops"`) || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET the dialog: %d %v\n%.200s", resp.StatusCode, resp.Header, script)
		}
		report := func(comments string) {
			t.Helper()
			form := url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "comments": {comments}, "url": {"https://shop.example/pay?password=hunter2"}}
			req, _ := http.NewRequest("POST", dialog, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://shop.example")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
				t.Fatalf("POST the report: %d %v %s", resp.StatusCode, resp.Header, body)
			}
		}
		report("It broke before the event arrived")

		envelope := `{"event_id":"` + eventID + `"}` + "\n" + `{"type":"event"}` + "\n" +
			`{"platform":"javascript","exception":{"values":[{"type":"TypeError","value":"checkout broke"}]}}` + "\n"
		resp, err = http.Post(base+"/api/"+itoa(b.Project.ID)+"/envelope/?sentry_key="+b.Key.PublicKey, "application/x-sentry-envelope", strings.NewReader(envelope))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("envelope: %v %v", resp, err)
		}
		resp.Body.Close()
		report("It broke after the event arrived")

		issue := waitIssues(t, db, b.Project.ID, func(is []store.Issue) bool { return len(is) == 1 })[0]
		var got []store.Feedback
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got, _, err = db.ListIssueFeedback(ctx, store.System, issue.ID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 2 || time.Now().After(deadline) {
				break
			}
		}
		var messages []string
		for _, f := range got {
			messages = append(messages, f.Message)
			if f.AssociatedEventID != eventID || f.IssueID != issue.ID || f.Name != "Ada" || f.Email != "ada@example.com" ||
				f.Source != "crash_report_embed_form" || f.EventID == eventID {
				t.Errorf("stored %+v", f)
			}
			if strings.Contains(f.URL, "hunter2") || !strings.HasPrefix(f.URL, "https://shop.example/pay?") {
				t.Errorf("page URL stored as %q, want it scrubbed", f.URL)
			}
		}
		slices.Sort(messages)
		if want := []string{"It broke after the event arrived", "It broke before the event arrived"}; !slices.Equal(messages, want) {
			t.Errorf("feedback on the issue %q, want %q", messages, want)
		}
	})
}
