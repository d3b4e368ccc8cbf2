package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/testutil/cutoff"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// sleeper records the waits instead of waiting.
type sleeper struct{ waits []time.Duration }

func (s *sleeper) sleep(_ context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return nil
}

// flaky answers the first len(answers) requests with those statuses and
// Retry-After values, then 200 with the caller.
func flaky(t *testing.T, answers [][2]string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.Header().Set("Content-Type", "application/json")
		if i < len(answers) {
			status, _ := strconv.Atoi(answers[i][0])
			if answers[i][1] != "" {
				w.Header().Set("Retry-After", answers[i][1])
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"code":"busy","message":"try later"}}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer flyt_x" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"invalid API token"}}`)
			return
		}
		fmt.Fprint(w, `{"id":1,"email":"ada@example.com","role":"admin"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRetries(t *testing.T) {
	date := t0.Add(7 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name     string
		answers  [][2]string
		wantErr  int // status of the error, 0 for success
		waits    []time.Duration
		requests int32
	}{
		{"no retry needed", nil, 0, nil, 1},
		{"429 then ok", [][2]string{{"429", "2"}}, 0, []time.Duration{2 * time.Second}, 2},
		{"503 with a date", [][2]string{{"503", date}}, 0, []time.Duration{7 * time.Second}, 2},
		{"503 without Retry-After backs off", [][2]string{{"503", ""}, {"503", ""}}, 0, []time.Duration{500 * time.Millisecond, time.Second}, 3},
		{"gives up after 3 retries", [][2]string{{"429", "1"}, {"429", "1"}, {"429", "1"}, {"429", "1"}}, 429,
			[]time.Duration{time.Second, time.Second, time.Second}, 4},
		{"too long a wait is the caller's", [][2]string{{"429", "900"}}, 429, nil, 1},
		{"500 is not retried", [][2]string{{"500", "1"}}, 500, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := flaky(t, tt.answers)
			s := &sleeper{}
			c, err := New(srv.URL+"/", "flyt_x", WithSleeper(s.sleep), WithClock(func() time.Time { return t0 }))
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.Me(context.Background())
			var e *Error
			switch {
			case tt.wantErr == 0 && (err != nil || u.Email != "ada@example.com"):
				t.Fatalf("Me = %+v, %v", u, err)
			case tt.wantErr != 0 && (!errors.As(err, &e) || e.Status != tt.wantErr):
				t.Fatalf("Me error %v, want HTTP %d", err, tt.wantErr)
			}
			if !slices.Equal(s.waits, tt.waits) {
				t.Errorf("waits %v, want %v", s.waits, tt.waits)
			}
			if n.Load() != tt.requests {
				t.Errorf("%d requests, want %d", n.Load(), tt.requests)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	srv, _ := flaky(t, nil)
	c, _ := New(srv.URL, "flyt_wrong")
	_, err := c.Me(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Code != apitypes.CodeUnauthorized || e.Error() != "invalid API token" || !HasCode(err, "unauthorized") {
		t.Errorf("wrong token: %#v", err)
	}

	// A proxy's HTML error page is still an *Error, without a code.
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		fmt.Fprint(w, "<html>Bad Gateway</html>")
	}))
	defer html.Close()
	c, _ = New(html.URL, "t", WithRetries(0, 0))
	if _, err := c.Me(context.Background()); !errors.As(err, &e) || e.Status != 502 || e.Code != "" || !e.IsGateway() ||
		e.Error() != "GET "+html.URL+"/api/v1/me answered HTTP 502 Bad Gateway without Flytrap's JSON: a proxy, whose Flytrap server behind it is down or unreachable" {
		t.Errorf("proxy error: %#v", err)
	}
	// A 404 page of another site, or of a proxy's path without the
	// prefix it serves Flytrap under, names the URL asked, without its
	// query.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	c, _ = New(other.URL+"/wrong", "t", WithRetries(0, 0))
	if _, err := c.Issues(context.Background(), 1, IssueQuery{Status: "all"}, ""); !errors.As(err, &e) || e.Status != 404 || e.Code != "" || e.IsGateway() || !e.IsWrongURL() ||
		e.Error() != "GET "+other.URL+"/wrong/api/v1/projects/1/issues answered HTTP 404 Not Found without Flytrap's JSON: not a Flytrap server, or not Flytrap's path on it" {
		t.Errorf("not flytrap: %#v", err)
	}

	// A gateway's own 413 is about the request, not about the URL.
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		fmt.Fprint(w, `{"message":"Request Entity Too Large"}`)
	}))
	defer big.Close()
	c, _ = New(big.URL, "t")
	if _, err := c.Me(context.Background()); !errors.As(err, &e) || e.IsWrongURL() || e.IsGateway() ||
		e.Error() != "GET "+big.URL+"/api/v1/me answered HTTP 413 Request Entity Too Large without Flytrap's JSON" {
		t.Errorf("gateway 413: %#v", err)
	}

	// A page where JSON was due, such as the dashboard a proxy serves for
	// any path, is not Flytrap's API either.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>Dashboard</title>")
	}))
	defer page.Close()
	c, _ = New(page.URL+"/app", "t")
	var ne *NotFlytrapError
	if _, err := c.Me(context.Background()); !errors.As(err, &ne) ||
		err.Error() != "GET "+page.URL+"/app/api/v1/me answered what is not JSON: not a Flytrap server, or not Flytrap's path on it" {
		t.Errorf("HTML page: %#v", err)
	}

	// Nothing listening.
	srv.Close()
	c, _ = New(srv.URL, "t")
	var ue *UnreachableError
	if _, err := c.Me(context.Background()); !errors.As(err, &ue) {
		t.Errorf("server down: %#v", err)
	}

	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := New(bad, ""); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestAll(t *testing.T) {
	pages := map[string]apitypes.List[int]{
		"":  {Data: []int{1, 2}, NextCursor: "b"},
		"b": {Data: []int{3, 4}, NextCursor: "c"},
		"c": {Data: []int{5}},
	}
	var asked []string
	page := func(_ context.Context, cursor string) (apitypes.List[int], error) {
		asked = append(asked, cursor)
		return pages[cursor], nil
	}
	for _, tt := range []struct {
		max   int
		want  []int
		asked []string
	}{
		{0, []int{1, 2, 3, 4, 5}, []string{"", "b", "c"}},
		{3, []int{1, 2, 3}, []string{"", "b"}},
		{2, []int{1, 2}, []string{""}},
	} {
		asked = nil
		got, err := All(context.Background(), page, tt.max)
		if err != nil || !slices.Equal(got, tt.want) || !slices.Equal(asked, tt.asked) {
			t.Errorf("All(max %d) = %v, %v after asking %q; want %v after %q", tt.max, got, err, asked, tt.want, tt.asked)
		}
	}
}

// TestIssueQuery checks the query parameters the server reads.
func TestIssueQuery(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path + "?" + r.URL.RawQuery
		fmt.Fprint(w, `{"data":[],"next_cursor":""}`)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "t")
	if _, err := c.Issues(context.Background(), 7, IssueQuery{Status: "unresolved", Query: "browser:Firefox", Sort: "count", Limit: 500}, "abc"); err != nil {
		t.Fatal(err)
	}
	if want := "/api/v1/projects/7/issues?cursor=abc&limit=100&query=browser%3AFirefox&sort=count&status=unresolved"; got != want {
		t.Errorf("request %s, want %s", got, want)
	}
}

// TestTimeouts checks what a request that got no answer in time says of
// its change: maybe made once sent, made when its 2xx answer was cut off,
// not made when the connection never opened.
func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/cut/") {
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, `{"id":`)
			w.(http.Flusher).Flush()
		}
		<-release
	}))
	defer hang.Close()
	defer close(release)
	// Accepts connections and says nothing: a TLS handshake never ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()

	const timeout = 300 * time.Millisecond
	tests := []struct {
		name       string
		url        string
		call       func(*Client) error
		sent, done bool
		unknown    bool
		msg        string
	}{
		{"change sent", hang.URL, func(c *Client) error {
			_, err := c.SetIssueStatus(context.Background(), 123, apitypes.StatusChange{Status: "resolved"})
			return err
		}, true, false, true, "the server at " + hang.URL + " did not answer within 300ms; the change may or may not have been applied"},
		{"read sent", hang.URL, func(c *Client) error { _, err := c.Issue(context.Background(), 123); return err }, true, false, false,
			"cannot reach " + hang.URL + ": "},
		{"change answered, answer cut off", hang.URL + "/cut", func(c *Client) error {
			_, err := c.SetIssueStatus(context.Background(), 123, apitypes.StatusChange{Status: "resolved"})
			return err
		}, true, true, false, "the server at " + hang.URL + "/cut made the change, but its answer was cut off: "},
		{"change never sent", "https://" + ln.Addr().String(), func(c *Client) error { return c.DeleteIssue(context.Background(), 123) }, false, false, false,
			"cannot reach https://" + ln.Addr().String() + ": no connection within 300ms; nothing was changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := false
			c, err := New(tt.url, "t", WithHTTPClient(&http.Client{Timeout: timeout}), WithChangeHook(func() { changed = true }))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(c)
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Fatalf("error %#v, want an *UnreachableError", err)
			}
			if ue.Sent != tt.sent || ue.Applied != tt.done || ue.Unknown() != tt.unknown || ue.Timeout != timeout {
				t.Errorf("sent %v, applied %v, unknown %v, timeout %s; want %v, %v, %v, %s", ue.Sent, ue.Applied, ue.Unknown(), ue.Timeout, tt.sent, tt.done, tt.unknown, timeout)
			}
			if changed != tt.done {
				t.Errorf("change hook called: %v, want %v", changed, tt.done)
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to start with %q", err, tt.msg)
			}
		})
	}
}

// cutServer answers every request with a status line and headers, then
// closes the connection partway through the body it announced; status 0
// closes it before the status line.
func cutServer(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cutoff.Answer(t, w, status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCutOffAnswers: a non-2xx answer whose body is cut off is the
// server's verdict all the same, since its status line came whole: a
// refusal (4xx), or a 500 or 503, did not make the change. Only a 502 or
// 504, which a proxy may send after passing the request on, and a
// connection lost before the status line leave the change unknown. A
// read is told without a word on a change.
func TestCutOffAnswers(t *testing.T) {
	const (
		maybe   = "the change may or may not have been applied"
		refused = "the server refused the change, which was not made"
		notMade = "the change was not made"
	)
	tests := []struct {
		status  int
		change  bool
		unknown bool
		said    string // in the message; the others of the three are not
	}{
		{http.StatusBadRequest, true, false, refused},
		{http.StatusUnauthorized, true, false, refused},
		{http.StatusForbidden, true, false, refused},
		{http.StatusNotFound, true, false, refused},
		{http.StatusConflict, true, false, refused},
		{http.StatusTooManyRequests, true, false, refused},
		{http.StatusInternalServerError, true, false, notMade},
		{http.StatusServiceUnavailable, true, false, notMade},
		{http.StatusBadGateway, true, true, maybe},
		{http.StatusGatewayTimeout, true, true, maybe},
		{0, true, true, maybe},
		{http.StatusNotFound, false, false, ""},
		{http.StatusBadGateway, false, false, ""},
		{0, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, " change ", tt.change), func(t *testing.T) {
			srv := cutServer(t, tt.status)
			changed := false
			c, err := New(srv.URL, "t", WithRetries(0, 0), WithChangeHook(func() { changed = true }))
			if err != nil {
				t.Fatal(err)
			}
			if tt.change {
				_, err = c.SetIssueStatus(context.Background(), 123, apitypes.StatusChange{Status: "resolved"})
			} else {
				_, err = c.Issue(context.Background(), 123)
			}
			var (
				ce *Error
				ue *UnreachableError
			)
			switch {
			case tt.status != 0 && !errors.As(err, &ce):
				t.Fatalf("error %#v, want an *Error", err)
			case tt.status != 0 && (ce.Status != tt.status || ce.Cut == nil || ce.Unknown() != tt.unknown || ce.IsWrongURL()):
				t.Errorf("status %d, cut %v, unknown %v, wrong URL %v; want %d, a cut, %v, false", ce.Status, ce.Cut, ce.Unknown(), ce.IsWrongURL(), tt.status, tt.unknown)
			case tt.status == 0 && (!errors.As(err, &ue) || ue.Unknown() != tt.unknown):
				t.Errorf("error %#v, want an *UnreachableError, unknown %v", err, tt.unknown)
			}
			if changed {
				t.Error("change hook called for an answer that is not 2xx")
			}
			for _, s := range []string{maybe, refused, notMade} {
				if strings.Contains(err.Error(), s) != (s == tt.said) {
					t.Errorf("error %q; want %q in it and none of the others", err, tt.said)
				}
			}
		})
	}
}
