package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/store"
)

// issuesOf runs `flytrap dev`'s stack (ingest, the local queue, a worker,
// SQLite), posts each Sentry event payload in an envelope of its own, and
// returns the ID of the issue each one joined.
func issuesOf(t *testing.T, payloads ...string) []int64 {
	t.Helper()
	s, db, b := devServer(t)
	rows := postEvents(t, s, db, b, payloads...)
	issues := make([]int64, len(rows))
	for i, row := range rows {
		issues[i] = row.IssueID
	}
	return issues
}

// postEvents runs s, posts each Sentry event payload to b's project in an
// envelope of its own, and returns each event as stored.
func postEvents(t *testing.T, s *Server, db *store.DB, b bootstrap.Result, payloads ...string) []store.EventRow {
	t.Helper()
	ctx := context.Background()
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, ln) }()
	defer func() { cancel(); <-done }()

	url := "http://" + ln.Addr().String() + "/api/" + itoa(b.Project.ID) + "/envelope/?sentry_key=" + b.Key.PublicKey
	ids := make([]string, len(payloads))
	for i, p := range payloads {
		ids[i] = fmt.Sprintf("%032x", i+1)
		envelope := `{"event_id":"` + ids[i] + `"}` + "\n" + `{"type":"event"}` + "\n" + p + "\n"
		resp, err := http.Post(url, "application/x-sentry-envelope", strings.NewReader(envelope))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("envelope %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	rows := make([]store.EventRow, len(ids))
	for i, id := range ids {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			row, err := db.GetEvent(ctx, store.System, id)
			if err == nil {
				rows[i] = row
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("event %d not stored: %v", i, err)
			}
		}
	}
	return rows
}

// TestFingerprintVariablesEndToEnd is finding 2 of the QA report, with its
// payloads: a fingerprint variable other than default is resolved, so
// events of different transactions, types or tag values that share a
// fingerprint are different issues.
func TestFingerprintVariablesEndToEnd(t *testing.T) {
	tests := []struct {
		name     string
		payloads []string
	}{
		{"transaction", []string{
			`{"transaction":"/checkout","fingerprint":["{{ transaction }}"],"exception":{"values":[{"type":"E_checkout","value":"x"}]}}`,
			`{"transaction":"/admin/users","fingerprint":["{{ transaction }}"],"exception":{"values":[{"type":"E_admin_users","value":"x"}]}}`}},
		{"type", []string{
			`{"transaction":"/checkout","fingerprint":["{{ type }}","db"],"exception":{"values":[{"type":"E_checkout","value":"x"}]}}`,
			`{"transaction":"/checkout","fingerprint":["{{ type }}","db"],"exception":{"values":[{"type":"E_admin_users","value":"x"}]}}`}},
		{"tag", []string{
			`{"tags":{"region":"eu-west-1"},"fingerprint":["{{ tags.region }}"],"exception":{"values":[{"type":"E","value":"x"}]}}`,
			`{"tags":{"region":"us-east-1"},"fingerprint":["{{ tags.region }}"],"exception":{"values":[{"type":"E","value":"x"}]}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := issuesOf(t, tt.payloads...); got[0] == got[1] {
				t.Errorf("both events joined issue %d; the fingerprint's variable differs", got[0])
			}
		})
	}
}

// TestGeneratedNamesEndToEnd is finding 6 of the QA report: the same error
// sent by two deployments, processes or runs of the same code, in the
// shapes sentry-php, sentry-ruby and sentry-java send, is one issue.
func TestGeneratedNamesEndToEnd(t *testing.T) {
	php := func(release string) string {
		dir := "/var/www/app/releases/" + release
		return `{"platform":"php","sdk":{"name":"sentry.php","version":"4.10.0"},"exception":{"values":[{"type":"TypeError",` +
			`"value":"App\\Controller\\CartController::show(): Argument #1 ($id) must be of type int, string given",` +
			`"mechanism":{"type":"generic","handled":true},"stacktrace":{"frames":[` +
			`{"filename":"` + dir + `/public/index.php","abs_path":"` + dir + `/public/index.php","function":"{main}","lineno":20,"in_app":true},` +
			`{"filename":"` + dir + `/src/Controller/CartController.php","abs_path":"` + dir + `/src/Controller/CartController.php",` +
			`"function":"App\\Controller\\CartController::show","lineno":42,"in_app":true}]}}]}}`
	}
	ruby := func(method string) string {
		return `{"platform":"ruby","sdk":{"name":"sentry.ruby.rails","version":"5.22.0"},"exception":{"values":[{"type":"NoMethodError",` +
			`"value":"undefined method 'total' for nil","module":"","stacktrace":{"frames":[` +
			`{"filename":"app/controllers/carts_controller.rb","abs_path":"/var/www/shop/current/app/controllers/carts_controller.rb","function":"show","lineno":8,"in_app":true},` +
			`{"filename":"app/views/carts/show.html.erb","abs_path":"/var/www/shop/current/app/views/carts/show.html.erb","function":"` + method + `","lineno":12,"in_app":true}]}}]}}`
	}
	java := func(lambda string) string {
		return `{"platform":"java","sdk":{"name":"sentry.java.spring-boot.jakarta","version":"8.0.0"},"exception":{"values":[{"type":"IllegalStateException",` +
			`"value":"order has no total","module":"java.lang","stacktrace":{"frames":[` +
			`{"module":"java.lang.Thread","function":"run","filename":"Thread.java","lineno":1583,"in_app":false},` +
			`{"module":"com.example.Worker` + lambda + `","function":"run","in_app":true},` +
			`{"module":"com.example.Worker","function":"lambda$process$0","filename":"Worker.java","lineno":42,"in_app":true}]}}]}}`
	}
	tests := []struct {
		name string
		a, b string
	}{
		{"php, Deployer releases 41 and 42", php("41"), php("42")},
		{"rails template of two processes",
			ruby("_app_views_carts_show_html_erb__4151236423534622352_70214356829680"),
			ruby("_app_views_carts_show_html_erb___2280341623411573011_70213977212340")},
		{"jvm lambda of two runs", java("$$Lambda$1234/0x0000000800c0a440"), java("$$Lambda$987/0x0000000800c0b6e8")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := issuesOf(t, tt.a, tt.b); got[0] != got[1] {
				t.Errorf("issues %d and %d; the same error must be one issue", got[0], got[1])
			}
		})
	}
}

// TestLogMessagesGroupByTemplate posts what sentry-python's logging
// integration sends for logger.error("Order %s not found for user %s",
// ...): the template, its params and the formatted text. One template with
// any params is one issue, as in Sentry; another template is another.
func TestLogMessagesGroupByTemplate(t *testing.T) {
	logged := func(params ...string) string {
		return `{"platform":"python","level":"error","logger":"shop.orders","logentry":{"message":"Order %s not found for user %s",` +
			`"params":["` + params[0] + `","` + params[1] + `"],"formatted":"Order ` + params[0] + ` not found for user ` + params[1] + `"}}`
	}
	ids := issuesOf(t, logged("A-17", "bob"), logged("B-9", "ann"), logged("C-3", "joe"),
		`{"platform":"python","level":"error","logentry":{"message":"Payment %s declined","params":["p-1"],"formatted":"Payment p-1 declined"}}`)
	if ids[0] != ids[1] || ids[0] != ids[2] || ids[3] == ids[0] {
		t.Errorf("issues %v: want the three orders in one issue and the payment in another", ids)
	}
}
