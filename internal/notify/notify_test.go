package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/notify/notifytest"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fixture is a store with a project, two members (one opted out) and a
// settable clock.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	db      *store.DB
	project store.Project
	clock   *clock
	seq     int
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "flytrap.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: ctx, db: db, clock: &clock{t: t0}}
	admin, err := db.CreateUser(ctx, "ada@example.com", "x", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if f.project, _, err = db.CreateProjectWithKey(ctx, "shop", admin.ID); err != nil {
		t.Fatal(err)
	}
	quiet, _ := db.CreateUser(ctx, "quiet@example.com", "x", store.RoleMember)
	if err := db.AddMember(ctx, f.project.ID, quiet.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	if err := db.SetEmailOptOut(ctx, quiet.ID, true); err != nil {
		t.Fatal(err)
	}
	return f
}

// request is an event of fingerprint fp with a stack.
func (f *fixture) request(fp, title string) store.SaveRequest {
	f.seq++
	return store.SaveRequest{
		Event: &event.Event{
			EventID: fmt.Sprintf("%032x", f.seq), ProjectID: f.project.ID, Level: "error", Environment: "production", Release: "shop@1.2.3",
			Received: f.clock.Now(), Timestamp: f.clock.Now(),
			Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined", Frames: []event.Frame{
				{Filename: "app/main.js", Function: "main", Lineno: 3},
				{Filename: "app/cart.js", Function: "renderCart", Lineno: 42},
			}}},
		},
		Fingerprint: fp, GroupingVersion: "t", Title: title, Culprit: "renderCart(app/cart.js)",
	}
}

// save stores n events of fp in batches of 100, with the alert hook.
func (f *fixture) save(fp, title string, n int) []store.SaveResult {
	f.t.Helper()
	var all []store.SaveResult
	for n > 0 {
		reqs := make([]store.SaveRequest, min(n, 100))
		for i := range reqs {
			reqs[i] = f.request(fp, title)
		}
		res, err := f.db.SaveBatch(f.ctx, reqs, f.db.AlertHook(f.clock.Now))
		if err != nil {
			f.t.Fatal(err)
		}
		all = append(all, res...)
		n -= len(reqs)
	}
	return all
}

func (f *fixture) run(w *notify.Worker) {
	f.t.Helper()
	if err := w.Run(f.ctx, f.clock.Now()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) outbox() []store.Notification {
	f.t.Helper()
	ns, err := f.db.ListNotifications(f.ctx, store.System, f.project.ID, 200)
	if err != nil {
		f.t.Fatal(err)
	}
	return ns
}

func (f *fixture) channel(kind, url string) store.AlertChannel {
	f.t.Helper()
	c, err := f.db.CreateAlertChannel(f.ctx, store.System, store.AlertChannel{ProjectID: f.project.ID, Kind: kind, Name: kind, URL: url})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// onlyRule replaces the project's rules by one new-issue and one
// regression rule to channel c.
func (f *fixture) onlyRules(c store.AlertChannel) {
	f.t.Helper()
	rules, _ := f.db.ListAlertRules(f.ctx, store.System, f.project.ID)
	for _, r := range rules {
		if err := f.db.DeleteAlertRule(f.ctx, store.System, r.ID); err != nil {
			f.t.Fatal(err)
		}
	}
	for _, typ := range []string{store.RuleNewIssue, store.RuleRegression} {
		if _, err := f.db.PutAlertRule(f.ctx, store.System, store.AlertRule{ProjectID: f.project.ID, ChannelID: c.ID, Type: typ, Enabled: true}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// parts decodes an email into its headers and its text/plain and
// text/html bodies.
func parts(t *testing.T, data []byte) (netmail.Header, map[string]string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return msg.Header, out
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
}

func smtpWorker(t *testing.T, f *fixture) (*notify.Worker, *notifytest.Sink) {
	serverTLS, clientTLS := notifytest.TLSPair()
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{User: "flytrap", Password: "s3cret p@ss", TLS: serverTLS})
	smtp, err := notify.NewSMTP("smtp://flytrap:s3cret%20p%40ss@"+sink.Addr, "alerts@example.com", notify.SMTPOptions{TLS: clientTLS, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true,
		Mailer:    notify.SMTPMailer{SMTP: smtp, Recipients: f.db.ChannelRecipients},
		PublicURL: "http://flytrap.test/",
		Now:       f.clock.Now,
	})
	return w, sink
}

// TestSMTPFloodOneAlertOneDigest: 10,000 events of one error, through
// AUTH and STARTTLS to a real SMTP server, give exactly one email for the
// new issue, with the stack and a link, and one digest once the cooldown
// ends; the member who opted out gets neither, nor does the member
// invited who has not set a password (maybe a mistyped address).
func TestSMTPFloodOneAlertOneDigest(t *testing.T) {
	f := newFixture(t, "")
	invited, err := f.db.CreateUser(f.ctx, "invited@example.com", "", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(f.ctx, f.project.ID, invited.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	w, sink := smtpWorker(t, f)
	f.save("flood", "TypeError: x is undefined", 10_000)
	f.run(w)
	f.clock.Set(t0.Add(30 * time.Minute))
	f.run(w)
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails during the cooldown, want 1", len(msgs))
	}
	m := msgs[0]
	body := string(m.Data)
	t.Logf("new-issue email: %d bytes, TLS %v, user %q, to %v", len(m.Data), m.TLS, m.User, m.To)
	if !m.TLS || m.User != "flytrap" || len(m.To) != 1 || m.To[0] != "ada@example.com" {
		t.Errorf("email sent with TLS %v as %q to %v; want STARTTLS, user flytrap, ada only", m.TLS, m.User, m.To)
	}
	h, bodies := parts(t, m.Data)
	if h.Get("Subject") != "[Flytrap] shop: New issue: TypeError: x is undefined" || !strings.HasPrefix(h.Get("Message-ID"), "<new.issue.") {
		t.Errorf("headers: %v", h)
	}
	for _, typ := range []string{"text/plain", "text/html"} {
		for _, want := range []string{"at renderCart (app/cart.js:42)", "http://flytrap.test/issues/", "production", "shop@1.2.3", "renderCart(app/cart.js)"} {
			if !strings.Contains(bodies[typ], want) {
				t.Errorf("%s body lacks %q:\n%s", typ, want, body)
			}
		}
	}
	// After the cooldown: one digest of the 9,999 later events.
	f.clock.Set(t0.Add(store.DefaultAlertCooldown))
	f.run(w)
	f.clock.Set(t0.Add(3 * store.DefaultAlertCooldown))
	f.run(w)
	msgs = sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails in all, want the alert and one digest", len(msgs))
	}
	if d := string(msgs[1].Data); !strings.Contains(d, "Still happening: 9999 more events") || !strings.Contains(d, "10000") {
		t.Errorf("digest:\n%s", d)
	}
	for _, n := range f.outbox() {
		if n.Status != store.NotificationSent || n.Attempts != 1 {
			t.Errorf("notification %d (%s): %s after %d attempts", n.ID, n.Reason, n.Status, n.Attempts)
		}
	}
}

// TestSMTPRefusesBadCredentials: a wrong password is a failed attempt
// with the server's answer recorded, retried later.
func TestSMTPRefusesBadCredentials(t *testing.T) {
	f := newFixture(t, "")
	serverTLS, clientTLS := notifytest.TLSPair()
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{User: "flytrap", Password: "right", TLS: serverTLS})
	smtp, err := notify.NewSMTP("smtp://flytrap:wrong@"+sink.Addr, "alerts@example.com", notify.SMTPOptions{TLS: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Mailer: notify.SMTPMailer{SMTP: smtp, Recipients: f.db.ChannelRecipients}, Now: f.clock.Now})
	f.save("a", "boom", 1)
	f.run(w)
	n := f.outbox()[0]
	if n.Status != store.NotificationPending || n.Attempts != 1 || !strings.Contains(n.LastError, "AUTH failed") ||
		!n.NextAttemptAt.Equal(t0.Add(notify.DefaultBackoff)) {
		t.Errorf("after a refused login: %+v", n)
	}
	if len(sink.Messages()) != 0 {
		t.Error("the sink accepted mail without AUTH")
	}
}

// TestSMTPRefusedRecipient: each member gets a message of their own. A
// member the server refuses for good (550 5.1.1) costs nobody else the
// alert and is not tried again; one refused for now (451) is retried
// alone; nobody gets the alert twice; the last error names the refusal.
func TestSMTPRefusedRecipient(t *testing.T) {
	for _, dsn := range []string{"", pgtest.URL(t)} {
		f := newFixture(t, dsn)
		for _, addr := range []string{"bad@example.com", "busy@example.com", "bob@example.com"} {
			u, err := f.db.CreateUser(f.ctx, addr, "x", store.RoleMember)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.db.AddMember(f.ctx, f.project.ID, u.ID, store.RoleMember); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu    sync.Mutex
			tries = map[string]int{}
		)
		sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{Rcpt: func(to string) error {
			mu.Lock()
			defer mu.Unlock()
			tries[to]++
			switch {
			case to == "bad@example.com":
				return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			case to == "busy@example.com" && tries[to] == 1:
				return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 2, 0}, Message: "mailbox busy"}
			}
			return nil
		}})
		smtp, err := notify.NewSMTP("smtp://"+sink.Addr, "alerts@example.com", notify.SMTPOptions{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		w := notify.NewWorker(f.db, notify.Config{Mailer: notify.SMTPMailer{SMTP: smtp, Recipients: f.db.ChannelRecipients}, Now: f.clock.Now})
		f.save("a", "boom", 1)
		f.run(w)
		n := f.outbox()[0]
		if n.Status != store.NotificationPending || n.Attempts != 1 || !strings.Contains(n.LastError, "451") {
			t.Errorf("after the first attempt: %+v, want a retry for the busy mailbox", n)
		}
		f.clock.Set(n.NextAttemptAt)
		f.run(w)
		f.clock.Set(t0.Add(time.Hour))
		f.run(w)
		got := map[string]int{}
		for _, m := range sink.Messages() {
			if len(m.To) != 1 {
				t.Errorf("a message to %v, want one recipient each", m.To)
			}
			for _, to := range m.To {
				got[to]++
			}
		}
		if fmt.Sprint(got) != "map[ada@example.com:1 bob@example.com:1 busy@example.com:1]" {
			t.Errorf("delivered %v, want ada, bob and busy once each", got)
		}
		n = f.outbox()[0]
		t.Logf("notification: %s after %d attempts, last error %q; RCPT tries %v", n.Status, n.Attempts, n.LastError, tries)
		if n.Status != store.NotificationSent || n.Attempts != 2 || !strings.Contains(n.LastError, "bad@example.com") ||
			!strings.Contains(n.LastError, "550") || tries["bad@example.com"] != 1 {
			t.Errorf("notification %+v, bad tried %d times; want sent, naming the refusal, bad tried once", n, tries["bad@example.com"])
		}
	}
}

// TestSMTPS: smtps:// speaks TLS from the first byte and authenticates.
func TestSMTPS(t *testing.T) {
	serverTLS, clientTLS := notifytest.TLSPair()
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{User: "flytrap", Password: "pw", TLS: serverTLS, Implicit: true})
	smtp, err := notify.NewSMTP("smtps://flytrap:pw@"+sink.Addr, "alerts@example.com", notify.SMTPOptions{TLS: clientTLS, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smtp.Send(context.Background(), []string{"ada@example.com"}, notify.Email{Subject: "hello", Text: "text", HTML: "<p>html</p>", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	m := sink.Messages()
	if len(m) != 1 || !m[0].TLS || m[0].User != "flytrap" {
		t.Errorf("messages = %+v", m)
	}
}

func TestNewSMTPURLs(t *testing.T) {
	for _, tt := range []struct {
		url, from string
		ok        bool
	}{
		{"smtp://user:pass@mail.example.com:2525", "a@example.com", true},
		{"smtps://mail.example.com", "a@example.com", true},
		{"smtp://mail.example.com?auth=login", "a@example.com", true},
		{"smtp://mail.example.com?auth=nonsense", "a@example.com", false},
		{"http://mail.example.com", "a@example.com", false},
		{"smtp://", "a@example.com", false},
		{"smtp://mail.example.com:99999", "a@example.com", false},
		{"smtp://mail.example.com", "not an address", false},
	} {
		_, err := notify.NewSMTP(tt.url, tt.from, notify.SMTPOptions{})
		if (err == nil) != tt.ok {
			t.Errorf("NewSMTP(%q, %q) = %v, want ok %v", tt.url, tt.from, err, tt.ok)
		}
	}
}

// receiver is an independent webhook receiver: it checks the signature
// with its own HMAC and refuses stale timestamps, as a user's endpoint
// would.
type receiver struct {
	secret string
	now    func() time.Time
	status int
	// delay is how long it takes to answer.
	delay time.Duration

	mu       sync.Mutex
	got      []notify.WebhookPayload
	keys     []string
	rejected []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, sig := r.Header.Get("X-Flytrap-Timestamp"), r.Header.Get("X-Flytrap-Signature")
	mac := hmac.New(sha256.New, []byte(rc.secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	time.Sleep(rc.delay)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case !hmac.Equal([]byte(sig), []byte(want)):
		rc.rejected = append(rc.rejected, "bad signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	case err != nil || rc.now().Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute:
		rc.rejected = append(rc.rejected, "stale timestamp")
		http.Error(w, "stale", http.StatusUnauthorized)
		return
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.rejected = append(rc.rejected, "bad JSON")
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	if rc.status != 0 {
		http.Error(w, "down", rc.status)
		return
	}
	rc.got = append(rc.got, p)
	rc.keys = append(rc.keys, r.Header.Get("Idempotency-Key"))
}

func (rc *receiver) payloads() []notify.WebhookPayload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notify.WebhookPayload(nil), rc.got...)
}

// webhookFixture is a fixture whose only rules send to a webhook.
func webhookFixture(t *testing.T, dsn string) (*fixture, *receiver, store.AlertChannel) {
	f := newFixture(t, dsn)
	rc := &receiver{now: f.clock.Now}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c := f.channel(store.ChannelWebhook, srv.URL+"/flytrap")
	rc.secret = c.Secret
	f.onlyRules(c)
	return f, rc, c
}

// TestWebhookSignedAndRegressionOnce: the webhook receives JSON whose
// HMAC-SHA256 signature an independent receiver verifies; a replay with
// another timestamp fails it; a regression alerts once.
func TestWebhookSignedAndRegressionOnce(t *testing.T) {
	f, rc, _ := webhookFixture(t, "")
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, PublicURL: "http://flytrap.test", Now: f.clock.Now})
	res := f.save("a", "boom", 1)
	f.run(w)
	got := rc.payloads()
	if len(got) != 1 || got[0].Reason != store.RuleNewIssue || got[0].Issue.IssueID != res[0].IssueID ||
		got[0].URL != "http://flytrap.test/issues/"+strconv.FormatInt(res[0].IssueID, 10) || len(got[0].Stack) == 0 || got[0].ID != rc.keys[0] {
		t.Fatalf("webhook payloads = %+v (rejected %v)", got, rc.rejected)
	}
	if _, err := f.db.UpdateIssueStatus(f.ctx, store.System, res[0].IssueID, store.StatusResolved, ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(time.Minute))
	f.save("a", "boom", 200)
	f.run(w)
	f.clock.Set(t0.Add(time.Hour + 2*time.Minute))
	f.run(w)
	var reasons []string
	for _, p := range rc.payloads() {
		reasons = append(reasons, p.Reason)
	}
	if strings.Join(reasons, ",") != "new_issue,regression,digest" {
		t.Errorf("webhook got %v, want new_issue, regression, digest", reasons)
	}

	// A replay: the same body and signature under a new timestamp.
	body, _ := json.Marshal(got[0])
	old := strconv.FormatInt(t0.Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, "http://x", strings.NewReader(string(body)))
	req.Header.Set("X-Flytrap-Timestamp", strconv.FormatInt(f.clock.Now().Unix(), 10))
	req.Header.Set("X-Flytrap-Signature", notify.Sign(rc.secret, old, body))
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("replayed request answered %d", rec.Code)
	}
}

// crashingStore stands for a process killed after sending and before
// recording: FinishNotification records nothing while crash is set.
type crashingStore struct {
	notify.Store
	crash bool
}

func (c *crashingStore) FinishNotification(ctx context.Context, n store.ClaimedNotification, now time.Time, err error, retry time.Time) error {
	if c.crash {
		return errors.New("killed before recording the outcome")
	}
	return c.Store.FinishNotification(ctx, n, now, err, retry)
}

// TestCrashBetweenSendAndRecordResendsOnce: a process that dies after a
// send and before recording it leaves the claim to run out; the next
// worker sends the notification again exactly once, with the same
// idempotency key, and records it; nothing is sent a third time.
func TestCrashBetweenSendAndRecordResendsOnce(t *testing.T) {
	f, rc, _ := webhookFixture(t, "")
	cs := &crashingStore{Store: f.db, crash: true}
	w := notify.NewWorker(cs, notify.Config{AllowPrivate: true, Now: f.clock.Now})
	f.save("a", "boom", 1)
	if err := w.Run(f.ctx, f.clock.Now()); err == nil {
		t.Fatal("the crashed run reported no error")
	}
	if n := len(rc.payloads()); n != 1 {
		t.Fatalf("first run sent %d", n)
	}
	// "Restart": a new worker over the real store. Within the lease the
	// claim still holds: nothing is sent.
	w2 := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now})
	f.clock.Set(t0.Add(time.Minute))
	f.run(w2)
	if n := len(rc.payloads()); n != 1 {
		t.Fatalf("a run within the lease sent again: %d", n)
	}
	f.clock.Set(t0.Add(notify.DefaultLease + time.Second))
	f.run(w2)
	f.clock.Set(t0.Add(time.Hour))
	f.run(w2)
	rc.mu.Lock()
	keys := append([]string(nil), rc.keys...)
	rc.mu.Unlock()
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Fatalf("sends = %v; want exactly one resend with the same key", keys)
	}
	n := f.outbox()[0]
	atts, _ := f.db.NotificationAttempts(f.ctx, store.System, n.ID)
	t.Logf("sends: %d (key %s); attempts recorded: %+v", len(keys), keys[0], atts)
	if n.Status != store.NotificationSent || n.Attempts != 2 || len(atts) != 2 || atts[0].Outcome != store.NotificationSending || atts[1].Outcome != store.NotificationSent {
		t.Errorf("notification %+v, attempts %+v", n, atts)
	}
}

// TestRetryBackoffThenDead: a webhook answering 503 is retried after 30 s,
// 1 min, 2 min, ... and dead after 8 attempts; one answering 400 is dead
// at once.
func TestRetryBackoffThenDead(t *testing.T) {
	f, rc, _ := webhookFixture(t, "")
	rc.status = http.StatusServiceUnavailable
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now})
	f.save("a", "boom", 1)
	var gaps []time.Duration
	prev := f.clock.Now()
	for range 20 {
		f.run(w)
		n := f.outbox()[0]
		if n.Status == store.NotificationDead {
			break
		}
		gaps = append(gaps, n.NextAttemptAt.Sub(prev))
		prev = n.NextAttemptAt
		f.clock.Set(n.NextAttemptAt)
	}
	n := f.outbox()[0]
	t.Logf("retry gaps %v; final %s after %d attempts: %s", gaps, n.Status, n.Attempts, n.LastError)
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute}
	if fmt.Sprint(gaps) != fmt.Sprint(want) || n.Status != store.NotificationDead || n.Attempts != notify.DefaultMaxAttempts || !strings.Contains(n.LastError, "503") {
		t.Errorf("gaps %v, want %v; notification %+v", gaps, want, n)
	}

	rc.status = http.StatusBadRequest
	f.save("b", "other", 1)
	f.run(w)
	for _, n := range f.outbox() {
		if n.Payload.Title == "other" && (n.Status != store.NotificationDead || n.Attempts != 1) {
			t.Errorf("after a 400: %+v", n)
		}
	}
}

// TestTwoWorkersOnPostgresDeliverOnce: two workers (two dashboard
// processes) on one PostgreSQL database, polling until the outbox is
// empty, deliver each notification exactly once: many to a fast receiver,
// and a claim's worth to a receiver so slow that a claim's last rows are
// sent after the lease the claim took (each send renews its row's lease).
func TestTwoWorkersOnPostgresDeliverOnce(t *testing.T) {
	for _, tc := range []struct {
		name          string
		notifications int
		delay         time.Duration
		cfg           notify.Config
	}{
		{"fast receiver", 60, 0, notify.Config{Batch: 5}},
		{"receiver slower than lease/batch", 10, 300 * time.Millisecond,
			notify.Config{Batch: 10, Lease: time.Second, SendTimeout: 400 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rc, _ := webhookFixture(t, pgtest.URL(t))
			// Saved in the past, a burst window apart per
			// store.NewIssueBurst new issues: each is alerted on its own.
			f.clock.Set(t0.Add(-time.Duration(tc.notifications/store.NewIssueBurst+1) * store.NewIssueBurstWindow))
			for i := range tc.notifications {
				if i > 0 && i%store.NewIssueBurst == 0 {
					f.clock.Set(f.clock.Now().Add(store.NewIssueBurstWindow))
				}
				f.save("pg"+strconv.Itoa(i), "boom", 1)
			}
			// Leases run out in real time: the clock starts at the
			// fixture's and moves with the wall clock.
			start := time.Now()
			now := func() time.Time { return t0.Add(time.Since(start)) }
			rc.now, rc.delay = now, tc.delay
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cfg := tc.cfg
					cfg.AllowPrivate, cfg.Now = true, now
					w := notify.NewWorker(f.db, cfg)
					for time.Since(start) < 20*time.Second && len(rc.payloads()) < tc.notifications {
						if err := w.Run(f.ctx, now()); err != nil {
							t.Error(err)
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
			}
			wg.Wait()
			// A duplicate would still be on its way: let it land.
			time.Sleep(2 * tc.delay)
			seen := map[string]int{}
			rc.mu.Lock()
			for _, k := range rc.keys {
				seen[k]++
			}
			rc.mu.Unlock()
			if len(seen) != tc.notifications {
				t.Errorf("%d distinct notifications delivered, want %d", len(seen), tc.notifications)
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("%s delivered %d times", k, n)
				}
			}
			for _, n := range f.outbox() {
				if n.Status != store.NotificationSent {
					t.Errorf("notification %d: %s after %d attempts: %s", n.ID, n.Status, n.Attempts, n.LastError)
				}
			}
		})
	}
}

// TestHangingWebhookDelaysNoEmail: a webhook that never answers holds one
// send until its timeout; the email of the next issue, claimed after it,
// goes out meanwhile.
func TestHangingWebhookDelaysNoEmail(t *testing.T) {
	f := newFixture(t, "")
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	c := f.channel(store.ChannelWebhook, hang.URL)
	if _, err := f.db.PutAlertRule(f.ctx, store.System, store.AlertRule{ProjectID: f.project.ID, ChannelID: c.ID, Type: store.RuleNewIssue, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	smtp, err := notify.NewSMTP("smtp://"+sink.Addr, "alerts@example.com", notify.SMTPOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 5 * time.Second
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, SendTimeout: timeout, Now: f.clock.Now,
		Mailer: notify.SMTPMailer{SMTP: smtp, Recipients: f.db.ChannelRecipients}})
	// Outbox order: email a, webhook a, email b, webhook b.
	f.save("a", "first", 1)
	f.save("b", "second", 1)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(f.ctx, f.clock.Now())
	}()
	sink.Wait(t, 2, timeout/2)
	t.Logf("both emails %v after the run started; webhook timeout %v", time.Since(start), timeout)
	<-done
}

// TestWebhookRedirects: no redirect is followed, so the alert goes to no
// host but the channel's, and no hop escapes the egress check: the
// notification is dead at once, its error naming the host that answered
// (the channel's), the answer, and the redirect's target by scheme and
// host only, which never got a request.
func TestWebhookRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			f := newFixture(t, "")
			var reached atomic.Int32
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Add(1)
			}))
			t.Cleanup(target.Close)
			first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/final", code)
			}))
			t.Cleanup(first.Close)
			c := f.channel(store.ChannelWebhook, first.URL+"/old")
			f.onlyRules(c)
			w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now})
			f.save("a", "boom", 1)
			f.run(w)
			n := f.outbox()[0]
			// The error names the redirect's host, never its path, which
			// may carry a token every member would see.
			want := fmt.Sprintf("%s answered %d %s, a redirect, which alerts do not follow: set the channel's URL to the final one (%s/…)",
				strings.TrimPrefix(first.URL, "http://"), code, http.StatusText(code), target.URL)
			if n.Status != store.NotificationDead || n.Attempts != 1 || n.LastError != want || reached.Load() != 0 {
				t.Errorf("after a %d: %s after %d attempts, %q, the target reached %d times; want dead at once with %q, the target not reached",
					code, n.Status, n.Attempts, n.LastError, reached.Load(), want)
			}
		})
	}
}

// TestDeliveryErrorsQuoteNoBody: a receiver's answer is not quoted in the
// delivery's last error, which every member sees: with AllowPrivate a
// project admin could otherwise read the start of internal services'
// error pages through it. Slack, at its fixed host, answers errors with a
// plain-text code that says what to fix, and only such a code is kept.
// The operator's log has the start of the body.
func TestDeliveryErrorsQuoteNoBody(t *testing.T) {
	const page = "<html><title>Internal admin</title>secret=hunter2</html>"
	for _, tc := range []struct {
		name   string
		kind   string
		status int
		body   string
		want   string // after "HOST answered "
	}{
		{"webhook, 500 page", store.ChannelWebhook, 500, page, "500 Internal Server Error"},
		{"webhook, 403 page", store.ChannelWebhook, 403, page, "403 Forbidden"},
		{"webhook, a code", store.ChannelWebhook, 400, "invalid_payload\n", "400 Bad Request"},
		{"slack, a code", store.ChannelSlack, 404, "channel_not_found", "404 Not Found: channel_not_found"},
		{"slack, 500 page", store.ChannelSlack, 500, page, "500 Internal Server Error"},
		{"slack, text", store.ChannelSlack, 400, "invalid payload: see docs", "400 Bad Request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			f.onlyRules(f.channel(tc.kind, srv.URL+"/hook"))
			var logged bytes.Buffer
			w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(&logged, nil))})
			f.save("a", "boom", 1)
			f.run(w)
			n := f.outbox()[0]
			if want := strings.TrimPrefix(srv.URL, "http://") + " answered " + tc.want; n.LastError != want {
				t.Errorf("last error %q, want %q", n.LastError, want)
			}
			if first := strings.TrimSpace(tc.body)[:10]; !strings.Contains(logged.String(), first) {
				t.Errorf("log %s, want the answer's start %q", logged.String(), first)
			}
		})
	}
}

// TestHostileFieldsOneLineInTextEmail: SDK-controlled fields reach the
// plain-text email as one line each, so an event cannot forge a line (a
// link, a header-like "Bcc:") into it.
func TestHostileFieldsOneLineInTextEmail(t *testing.T) {
	f := newFixture(t, "")
	w, sink := smtpWorker(t, f)
	title := "session expired\n\nOpen the issue: https://flytrap-login.evil.example/issues/1\n\n--\nYou get this…"
	req := f.request("x", title)
	req.Culprit = title
	req.Event.Environment = "prod\r\nBcc: evil@attacker.com"
	req.Event.Release = "1.0\nOpen the issue: https://flytrap-login.evil.example/"
	if _, err := f.db.SaveBatch(f.ctx, []store.SaveRequest{req}, f.db.AlertHook(f.clock.Now)); err != nil {
		t.Fatal(err)
	}
	f.run(w)
	_, bodies := parts(t, sink.Wait(t, 1, 10*time.Second)[0].Data)
	text := bodies["text/plain"]
	links, separators := 0, 0
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.Contains(l, "evil") && !strings.HasPrefix(l, "session expired") && !strings.HasPrefix(l, "in session expired") &&
			!strings.HasPrefix(l, "Environment:") && !strings.HasPrefix(l, "Release:") {
			t.Errorf("SDK text forged the line %q", l)
		}
		if strings.HasPrefix(l, "Open the issue:") {
			links++
		}
		if l == "--" {
			separators++
		}
	}
	if links != 1 || separators != 1 {
		t.Errorf("text email has %d link lines and %d signature separators, want 1 each:\n%s", links, separators, text)
	}
}

// TestHostileTitleEscaped: SDK text reaches HTML email escaped, Slack's
// mrkdwn escaped (no @channel, no links), and headers as one line.
func TestHostileTitleEscaped(t *testing.T) {
	f := newFixture(t, "")
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	defer slack.Close()
	f.channel(store.ChannelSlack, slack.URL)
	rules, _ := f.db.ListAlertRules(f.ctx, store.System, f.project.ID)
	chans, _ := f.db.ListAlertChannels(f.ctx, store.System, f.project.ID)
	if _, err := f.db.PutAlertRule(f.ctx, store.System, store.AlertRule{ProjectID: f.project.ID, ChannelID: chans[1].ID, Type: store.RuleNewIssue, Enabled: true}); err != nil || len(rules) != 2 {
		t.Fatal(err)
	}
	w, sink := smtpWorker(t, f)
	hostile := "<script>alert(1)</script> <!channel> <http://evil.test|click> &amp;\r\nBcc: victim@example.com"
	f.save("x", hostile, 1)
	f.run(w)

	msgs := sink.Wait(t, 1, 10*time.Second)
	h, mailParts := parts(t, msgs[0].Data)
	html := mailParts["text/html"]
	if strings.Contains(html, "<script>") || strings.Contains(html, "<!channel>") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("HTML email does not escape the title:\n%s", html)
	}
	if h.Get("Bcc") != "" || len(msgs[0].To) != 1 || !strings.Contains(h.Get("Subject"), "<script>") {
		t.Errorf("the title injected a header: to %v, headers %v", msgs[0].To, h)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("Slack got %d messages", len(bodies))
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type, Text string
			} `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(bodies[0], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Blocks[0].Type != "header" || msg.Blocks[0].Text.Type != "plain_text" {
		t.Errorf("first block = %+v, want a plain_text header", msg.Blocks[0])
	}
	for _, s := range append([]string{msg.Text}, func() []string {
		var out []string
		for _, b := range msg.Blocks {
			if b.Text != nil && b.Text.Type == "mrkdwn" {
				out = append(out, b.Text.Text)
			}
		}
		return out
	}()...) {
		if strings.Contains(s, "<!channel>") || strings.Contains(s, "<http://evil.test|") || strings.Contains(s, "<script>") {
			t.Errorf("Slack mrkdwn carries SDK markup: %q", s)
		}
	}
	if !strings.Contains(msg.Text, "&lt;!channel&gt;") {
		t.Errorf("Slack text = %q, want the title escaped", msg.Text)
	}
}

// TestPrivateAddressesRefused: by default the worker posts to public
// addresses only. A webhook on loopback, by IP or by a name resolving to
// it, is refused before any byte is sent, and the notification is dead at
// once with a reason naming the setting that allows it; with
// AllowPrivate the same receiver gets the alert.
func TestPrivateAddressesRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		host  func(u *url.URL) string
		allow bool
	}{
		{"loopback IP", func(u *url.URL) string { return u.Host }, false},
		{"name resolving to loopback", func(u *url.URL) string { return "localhost:" + u.Port() }, false},
		{"allowed", func(u *url.URL) string { return u.Host }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			rc := &receiver{now: f.clock.Now}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			c := f.channel(store.ChannelWebhook, "http://"+tc.host(u)+"/flytrap")
			rc.secret = c.Secret
			f.onlyRules(c)
			w := notify.NewWorker(f.db, notify.Config{AllowPrivate: tc.allow, Now: f.clock.Now})
			f.save("a", "boom", 1)
			f.run(w)
			n := f.outbox()[0]
			if tc.allow {
				if n.Status != store.NotificationSent || len(rc.payloads()) != 1 {
					t.Fatalf("with AllowPrivate: %+v, %d received", n, len(rc.payloads()))
				}
				return
			}
			if len(rc.payloads()) != 0 || len(rc.rejected) != 0 {
				t.Errorf("the private receiver was reached: %d payloads, %d rejected", len(rc.payloads()), len(rc.rejected))
			}
			if n.Status != store.NotificationDead || n.Attempts != 1 || !strings.Contains(n.LastError, "not a public address") || !strings.Contains(n.LastError, notify.EnvAllowPrivate+"=1") {
				t.Errorf("notification %+v, want dead after one attempt, saying why and how to allow it", n)
			}
		})
	}
}

// TestDeliveryErrorsHideTheURL: a failed delivery's error is stored and
// shown to every member of the project, who may see only the channel's
// scheme and host (service.Alerts.Channels): net/http's errors quote the
// whole URL, token included, and a receiver may echo it in its answer.
func TestDeliveryErrorsHideTheURL(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook: "+r.URL.String(), http.StatusNotFound)
	}))
	t.Cleanup(echo.Close)
	for _, tc := range []struct {
		name, url string
		allow     bool
	}{
		{"connection refused", "http://127.0.0.1:1/services/T000/SECRETTOKEN?key=abcdefgh", true},
		{"private address", "http://127.0.0.1:1/services/T000/SECRETTOKEN?key=abcdefgh", false},
		{"unparsable", "http://127.0.0.1:1/services/SECRETTOKEN/%zz?key=abcdefgh", true},
		{"token first", "http://127.0.0.1:1/SECRETTOKEN", true},
		{"answer echoes the URL", echo.URL + "/SECRETTOKEN/x?key=abcdefgh", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			c := f.channel(store.ChannelWebhook, tc.url)
			f.onlyRules(c)
			w := notify.NewWorker(f.db, notify.Config{AllowPrivate: tc.allow, Now: f.clock.Now})
			f.save("a", "boom", 1)
			f.run(w)
			n := f.outbox()[0]
			if n.LastError == "" || strings.Contains(n.LastError, "SECRETTOKEN") || strings.Contains(n.LastError, "abcdefgh") {
				t.Errorf("last error %q, want one without the URL's token", n.LastError)
			}
			t.Logf("%s", n.LastError)
		})
	}
}

// TestDeliveryErrorCauseIsLogged: the delivery's last error, which every
// member sees, names the category of a failed connection; the operator's
// log has net/http's error with the address dialled.
func TestDeliveryErrorCauseIsLogged(t *testing.T) {
	f := newFixture(t, "")
	c := f.channel(store.ChannelWebhook, "http://127.0.0.1:1/hook")
	f.onlyRules(c)
	var logged bytes.Buffer
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	f.save("a", "boom", 1)
	f.run(w)
	n := f.outbox()[0]
	if want := "POST http://127.0.0.1:1/…: connection refused: nothing listens on the host's port"; n.LastError != want {
		t.Errorf("last error %q, want %q", n.LastError, want)
	}
	if !strings.Contains(logged.String(), "dial tcp 127.0.0.1:1: connect: connection refused") {
		t.Errorf("log %s, want the dial error", logged.String())
	}
}

// TestStoppingGivesUnstartedClaimsBack: a worker stopped while one send is
// in flight gives the claims it had not started back, due at once and
// with no attempt spent; only the interrupted send counts as one.
func TestStoppingGivesUnstartedClaimsBack(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { testStoppingGivesUnstartedClaimsBack(t, db) })
	}
}

func testStoppingGivesUnstartedClaimsBack(t *testing.T, db string) {
	dsn := ""
	if db == "postgres" {
		dsn = pgtest.URL(t)
	}
	f, rc, _ := webhookFixture(t, dsn)
	rc.delay = 2 * time.Second
	for i := range 3 {
		f.save("stop"+strconv.Itoa(i), "boom", 1)
	}
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Concurrency: 1, Now: f.clock.Now})
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, f.clock.Now()) }()
	time.Sleep(300 * time.Millisecond) // the first send is waiting for its answer
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	var pending, spent int
	for _, n := range f.outbox() {
		switch {
		case n.Status == store.NotificationPending && n.Attempts == 0:
			pending++
		case n.Attempts == 1:
			spent++
		default:
			t.Errorf("notification %d: %s after %d attempts", n.ID, n.Status, n.Attempts)
		}
	}
	if pending != 2 || spent != 1 {
		t.Errorf("%d given back unspent and %d with an attempt, want 2 and the interrupted one", pending, spent)
	}
}

// TestChannelURLs: what members (HostURL) and the project's admins
// (ShortURL) see of a channel's URL. No token survives either: a
// token-sized first segment is cut for admins, and members see no path.
func TestChannelURLs(t *testing.T) {
	for _, tc := range []struct{ url, host, short string }{
		{"https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", "https://hooks.slack.com/…", "https://hooks.slack.com/services/…"},
		{"https://webhook.site/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "https://webhook.site/…", "https://webhook.site/0f1e…"},
		{"https://hook.eu1.make.com/abcdefghijklmnopqrstuvwxyz012345", "https://hook.eu1.make.com/…", "https://hook.eu1.make.com/abcd…"},
		{"https://example.com/hook?token=abc", "https://example.com/…", "https://example.com/hook/…"},
		{"https://example.com/", "https://example.com", "https://example.com/"},
		{"not a url", "", ""},
	} {
		if got := notify.HostURL(tc.url); got != tc.host {
			t.Errorf("HostURL(%q) = %q, want %q", tc.url, got, tc.host)
		}
		if got := notify.ShortURL(tc.url); got != tc.short {
			t.Errorf("ShortURL(%q) = %q, want %q", tc.url, got, tc.short)
		}
	}
}

// TestEmailWithoutMailerIsLogged: without SMTP (flytrap dev without
// --smtp-url) an alert email is logged, and recorded as logged with what
// to configure, not as sent; it is not retried, and its log line is not a
// delivery failure.
func TestEmailWithoutMailerIsLogged(t *testing.T) {
	f := newFixture(t, "")
	var logged strings.Builder
	w := notify.NewWorker(f.db, notify.Config{Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	f.save("a", "boom", 1)
	f.run(w)
	f.clock.Set(t0.Add(2 * time.Hour))
	f.run(w)
	ns := f.outbox()
	if len(ns) != 1 || ns[0].Status != store.NotificationLogged || ns[0].Attempts != 1 || ns[0].SentAt != nil ||
		!strings.Contains(ns[0].LastError, "--smtp-url or FLYTRAP_SMTP_URL") {
		t.Fatalf("outbox = %+v, want one email logged once, saying to pass --smtp-url", ns)
	}
	if !strings.Contains(logged.String(), "no SMTP configured") || strings.Contains(logged.String(), "delivery failed") {
		t.Errorf("log = %s, want the email logged and no delivery failure", logged.String())
	}
}
