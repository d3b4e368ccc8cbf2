package ingest

import (
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// sentry-go's HTTP integration, collecting user info (DataCollection's
// UserInfo, the default once DataCollection is set; SendDefaultPII before
// it), sends the peer as request.env.REMOTE_ADDR and no user at all; as
// Relay does, the address becomes the user's, so the issue counts one
// user per client.
func TestSentryGoRemoteAddrIsTheUser(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://"+testKey+"@", 1) + "/" + strconv.Itoa(testProject)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, DataCollection: &sentry.DataCollection{UserInfo: sentry.Set(true)},
		Transport: sentry.NewHTTPSyncTransport()})
	if err != nil {
		t.Fatal(err)
	}
	scope := sentry.NewScope()
	r := httptest.NewRequest("GET", "http://shop.example/panic?x=1", nil)
	r.RemoteAddr = "192.0.2.1:47884"
	scope.SetRequest(r)
	sentry.NewHub(client, scope).CaptureException(errors.New("nil map"))
	ev := q.only(t)
	if ev.User == nil || ev.User.IPHash != testDecoder().hashIP("192.0.2.1") {
		t.Fatalf("user %+v, want the hash of the request's REMOTE_ADDR", ev.User)
	}
}

func TestUserAddress(t *testing.T) {
	const client = "203.0.113.9"
	hash := testDecoder().hashIP
	for _, c := range []struct {
		name, body string
		want       string // the address hashed; "" for no user address
		note       string
	}{
		{name: "REMOTE_ADDR without a user", body: `{"request":{"env":{"REMOTE_ADDR":"192.0.2.1","REMOTE_PORT":"1"}}}`, want: "192.0.2.1"},
		{name: "the user's own address comes first", body: `{"user":{"ip_address":"198.51.100.5"},"request":{"env":{"REMOTE_ADDR":"192.0.2.1"}}}`, want: "198.51.100.5"},
		{name: "REMOTE_ADDR {{auto}} is the sender", body: `{"request":{"env":{"REMOTE_ADDR":"{{auto}}"}}}`, want: client},
		{name: "REMOTE_ADDR before inferring the sender", body: `{"request":{"env":{"REMOTE_ADDR":"192.0.2.1"}},"sdk":{"settings":{"infer_ip":"auto"}}}`, want: "192.0.2.1"},
		{name: "a REMOTE_ADDR that is no address", body: `{"request":{"env":{"REMOTE_ADDR":"unix-socket"}}}`},
		{name: "a user address that is no address", body: `{"user":{"id":"12345","ip_address":"not-an-ip"}}`, note: "dropped user.ip_address: not an IP address"},
		{name: "dropped, then inferred as the SDK asks", body: `{"user":{"ip_address":"F528764D624DB129B32C21FBCA0CB8D6"},"sdk":{"settings":{"infer_ip":"auto"}}}`, want: client, note: "dropped user.ip_address: not an IP address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/42/store/", header: sentryAuth(testKey), remote: client + ":5000", body: []byte(c.body)}.do(h)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			ev := q.only(t)
			var got string
			if ev.User != nil {
				got = ev.User.IPHash
			}
			if want := hash(c.want); got != want {
				t.Errorf("ip_hash %q, want the hash of %q (%q)", got, c.want, want)
			}
			if c.note != "" && !hasNote(&ev, c.note) {
				t.Errorf("no note %q in %q", c.note, ev.Notes)
			}
		})
	}
}

// sentry-go sends scope attachments as items of the event's envelope;
// Flytrap keeps none, and the event says so rather than dropping them
// without a trace.
func TestSentryGoAttachmentsNoted(t *testing.T) {
	// The SDK's clock, not the test's fixed one: no clock-drift note.
	h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.Now = time.Now })
	srv := httptest.NewServer(h)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://"+testKey+"@", 1) + "/" + strconv.Itoa(testProject)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Transport: sentry.NewHTTPSyncTransport()})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.CaptureException(errors.New("without"))
	hub.Scope().AddAttachment(&sentry.Attachment{Filename: "app.log", ContentType: "text/plain", Payload: []byte(strings.Repeat("x", 14000))})
	hub.Scope().AddAttachment(&sentry.Attachment{Filename: "<b>shot</b>.png", Payload: []byte("png")})
	hub.CaptureException(errors.New("with"))
	evs := q.events(t)
	if len(evs) != 2 {
		t.Fatalf("%d events queued, want 2", len(evs))
	}
	if len(evs[0].Notes) != 0 {
		t.Errorf("an event without attachments has notes %q", evs[0].Notes)
	}
	if want := "2 attachments (14 KB) sent with this event not stored: Flytrap keeps no attachments"; !hasNote(&evs[1], want) {
		t.Errorf("notes %q, want %q", evs[1].Notes, want)
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1 KB", 14003: "14 KB", 999_499: "999 KB", 3_200_000: "3.2 MB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
