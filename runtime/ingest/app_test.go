package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/lambdax"
)

// The API Gateway fixtures are shared with the adapter's tests.
const fixtures = "../../internal/lambdax/testdata"

const (
	testBucket = "flytrap-test-123456789012-eu-west-1"
	testKey    = "keyset/ingest-keys.json"
	publicKey  = "0f1e2d3c4b5a69788796a5b4c3d2e1f0" // the fixtures' key
	projectID  = 42
	salt       = "per-installation-salt"
	clientIP   = "203.0.113.7" // the fixtures' requestContext.http.sourceIp
)

type fakes struct {
	sqs      *awsxtest.SQSFake
	queueURL string
	s3       *s3.Client
	s3URL    string
}

func newFakes(t *testing.T) *fakes {
	t.Helper()
	f := &fakes{sqs: awsxtest.NewSQS(t), s3URL: awsxtest.NewS3(t)}
	f.queueURL = f.sqs.CreateQueue("flytrap-test-events")
	f.s3 = awsxtest.S3Client(f.s3URL)
	if _, err := f.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakes) publish(t *testing.T) {
	t.Helper()
	err := awsx.PublishKeySet(context.Background(), f.s3, testBucket, testKey,
		awsx.KeySet{Keys: map[string]int64{publicKey: projectID}, IPSalt: salt})
	if err != nil {
		t.Fatal(err)
	}
}

// clock is a settable time source for the key set's retry intervals.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (f *fakes) app(t *testing.T, c *clock, opts ...func(*appDeps)) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	deps := appDeps{
		Loader: awsx.NewKeySetLoader(f.s3, testBucket, testKey),
		Queue:  awsx.NewSQSQueue(awsxtest.SQSClient(f.sqs.URL()), f.queueURL, awsx.SQSQueueOptions{}),
	}
	if c != nil {
		deps.Now = c.now
	}
	for _, o := range opts {
		o(&deps)
	}
	return lambdax.HTTPHandler(newApp(context.Background(), deps))
}

func fixture(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func ipHash(ip string) string {
	sum := sha256.Sum256([]byte(salt + ip))
	return hex.EncodeToString(sum[:])[:32]
}

// queued is the part of a queued event.Event the tests check.
type queued struct {
	EventID   string `json:"event_id"`
	ProjectID int64  `json:"project_id"`
	Source    string `json:"source"`
	Message   string `json:"message"`
	User      *struct {
		IPHash string `json:"ip_hash"`
	} `json:"user"`
	Exceptions []struct {
		Type string `json:"type"`
	} `json:"exceptions"`
}

func TestIngestFunction(t *testing.T) {
	f := newFakes(t)
	f.publish(t)
	handle := f.app(t, nil)

	tests := []struct {
		fixture    string
		edit       func(*events.APIGatewayV2HTTPRequest)
		wantStatus int
		wantBody   string            // substring
		wantHeader map[string]string // response headers
		wantEvent  *queued           // nil: nothing queued
	}{
		{
			fixture: "sentry-envelope-gzip.json", wantStatus: 200, wantBody: `{"id":"9ec79c33ec9942ab8353589fcb2e04dc"}`,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Content-Type": "application/json"},
			wantEvent: &queued{EventID: "9ec79c33ec9942ab8353589fcb2e04dc", ProjectID: projectID, Source: "sentry",
				// {{auto}} resolved to sourceIp, not X-Forwarded-For's first entry.
				User: &struct {
					IPHash string `json:"ip_hash"`
				}{ipHash(clientIP)}},
		},
		{
			fixture: "sentry-preflight.json", wantStatus: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Origin": "https://app.example.com"},
		},
		{
			fixture: "sentry-store-query.json", wantStatus: 200, wantBody: `{"id":"c0ffee00c0ffee00c0ffee00c0ffee00"}`,
			wantEvent: &queued{EventID: "c0ffee00c0ffee00c0ffee00c0ffee00", ProjectID: projectID, Source: "sentry", Message: "Internal Server Error: /checkout/"},
		},
		{
			fixture: "flytrap-error.json", wantStatus: 200, wantBody: `{"id":"`,
			wantEvent: &queued{ProjectID: projectID, Source: "flytrap", User: &struct {
				IPHash string `json:"ip_hash"`
			}{ipHash("198.51.100.99")}},
		},
		{
			// An SDK configured with a trailing slash: answered, not redirected.
			fixture: "flytrap-error.json", edit: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawPath, ev.RequestContext.HTTP.Path = "//api/errors", "//api/errors"
			},
			wantStatus: 200, wantBody: `{"id":"`,
			wantEvent: &queued{ProjectID: projectID, Source: "flytrap", User: &struct {
				IPHash string `json:"ip_hash"`
			}{ipHash("198.51.100.99")}},
		},
		{
			fixture: "sentry-preflight.json", edit: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawPath, ev.RequestContext.HTTP.Path = "//api/42//envelope/", "//api/42//envelope/"
			},
			wantStatus: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Origin": "https://app.example.com"},
		},
		{
			// Sentry.showReportDialog's script, through the GET route.
			fixture: "sentry-preflight.json", edit: func(ev *events.APIGatewayV2HTTPRequest) { reportDialog(ev, "GET", "") },
			wantStatus: 200, wantBody: `"title":"Oops"`,
			wantHeader: map[string]string{"Content-Type": "text/javascript; charset=utf-8", "Access-Control-Allow-Origin": "https://app.example.com"},
		},
		{
			// The dialog's form, queued as feedback.
			fixture: "sentry-preflight.json", edit: func(ev *events.APIGatewayV2HTTPRequest) {
				reportDialog(ev, "POST", "name=Ada&email=ada%40example.com&comments=It+broke")
			},
			wantStatus: 200, wantBody: `{"id":"`,
			wantEvent: &queued{ProjectID: projectID, Source: "sentry"},
		},
		{
			fixture: "flytrap-error.json", edit: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["x-api-key"] = "unknown-key" },
			wantStatus: 401, wantBody: `"error":{"code":`,
		},
		{
			fixture: "sentry-envelope-gzip.json", edit: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawPath, ev.RequestContext.HTTP.Path = "/api/43/envelope/", "/api/43/envelope/"
			},
			wantStatus: 403,
		},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(tt.fixture, ".json")
		if tt.edit != nil {
			name += fmt.Sprint("-", tt.wantStatus)
		}
		t.Run(name, func(t *testing.T) {
			before := len(f.sqs.Messages(f.queueURL))
			ev := fixture(t, tt.fixture)
			if tt.edit != nil {
				tt.edit(&ev)
			}
			resp, err := handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(resp.Body, tt.wantBody) {
				t.Fatalf("response %d %s, want %d containing %s", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			if got := resp.Headers["X-Content-Type-Options"]; got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			msgs := f.sqs.Messages(f.queueURL)
			if tt.wantEvent == nil {
				if len(msgs) != before {
					t.Fatalf("%d messages queued, want none", len(msgs)-before)
				}
				return
			}
			if len(msgs) != before+1 {
				t.Fatalf("%d messages queued, want 1", len(msgs)-before)
			}
			var got queued
			if err := json.Unmarshal([]byte(msgs[before].Body), &got); err != nil {
				t.Fatal(err)
			}
			want := *tt.wantEvent
			if want.EventID == "" {
				want.EventID = got.EventID // generated by ingest
			}
			if got.EventID != want.EventID || got.ProjectID != want.ProjectID || got.Source != want.Source ||
				(want.Message != "" && got.Message != want.Message) {
				t.Errorf("queued %+v, want %+v", got, want)
			}
			if want.User != nil && (got.User == nil || got.User.IPHash != want.User.IPHash) {
				t.Errorf("queued user %+v, want ip_hash %s", got.User, want.User.IPHash)
			}
			if strings.Contains(msgs[before].Body, clientIP) || strings.Contains(msgs[before].Body, "198.51.100.99") {
				t.Error("a raw client IP reached the queue")
			}
		})
	}
}

// reportDialog turns a fixture into a request of the crash-report dialog
// (GET its script, or POST its form body) about an event of the fixtures'
// project, as API Gateway hands it over.
func reportDialog(ev *events.APIGatewayV2HTTPRequest, method, form string) {
	ev.RawPath, ev.RequestContext.HTTP.Path, ev.RequestContext.HTTP.Method = "/api/embed/error-page/", "/api/embed/error-page/", method
	ev.RouteKey = method + " /api/embed/{proxy+}"
	if method == "POST" {
		ev.RouteKey = "POST /api/{proxy+}"
	}
	ev.RawQueryString = "dsn=https://" + publicKey + "@k3x9abcd12.execute-api.eu-west-1.amazonaws.com/42&eventId=9ec79c33ec9942ab8353589fcb2e04dc&title=Oops"
	delete(ev.Headers, "access-control-request-method")
	delete(ev.Headers, "access-control-request-headers")
	ev.Headers["content-length"] = fmt.Sprint(len(form))
	if form != "" {
		ev.Headers["content-type"] = "application/x-www-form-urlencoded"
		ev.Body = form
	}
}

// TestIngestBeforeFirstPublish: a function that starts before the dashboard
// published the key set refuses events (503, retried by SDKs) and takes them,
// with hashed IPs, once the set exists.
func TestIngestBeforeFirstPublish(t *testing.T) {
	f := newFakes(t)
	c := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	handle := f.app(t, c)
	ev := fixture(t, "sentry-envelope-gzip.json")

	resp, err := handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("before publish: %d %s, %v; want 503", resp.StatusCode, resp.Body, err)
	}
	if pre, _ := handle(context.Background(), fixture(t, "sentry-preflight.json")); pre.StatusCode != 200 {
		t.Errorf("preflight before publish: %d, want 200", pre.StatusCode)
	}

	f.publish(t)
	c.advance(saltRetry)
	resp, err = handle(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after publish: %d %s, %v; want 200", resp.StatusCode, resp.Body, err)
	}
	msgs := f.sqs.Messages(f.queueURL)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, ipHash(clientIP)) {
		t.Fatalf("queued %v, want one event with the hashed IP", msgs)
	}
}

func TestReadEnv(t *testing.T) {
	full := map[string]string{"QUEUE_URL": "https://sqs/q", "KEYSET_BUCKET": "b", "KEYSET_KEY": "k"}
	for _, drop := range []string{"", "QUEUE_URL", "KEYSET_BUCKET", "KEYSET_KEY"} {
		_, err := readEnv(func(k string) string {
			if k == drop {
				return ""
			}
			return full[k]
		})
		if (err != nil) != (drop != "") || (drop != "" && !strings.Contains(err.Error(), drop)) {
			t.Errorf("without %q: %v", drop, err)
		}
	}
	for _, tc := range []struct {
		rateLimit string
		want      int
		ok        bool
	}{
		{"", 0, true},
		{"600", 600, true},
		{"-1", -1, true},
		{"0", 0, false},
		{"-2", 0, false},
		{"6k", 0, false},
	} {
		e, err := readEnv(func(k string) string {
			if k == "RATE_LIMIT" {
				return tc.rateLimit
			}
			return full[k]
		})
		if (err == nil) != tc.ok || (tc.ok && e.ratePerMinute != tc.want) || (!tc.ok && !strings.Contains(err.Error(), "RATE_LIMIT")) {
			t.Errorf("RATE_LIMIT %q: %d, %v; want %d, ok %v", tc.rateLimit, e.ratePerMinute, err, tc.want, tc.ok)
		}
	}
}

// TestIngestServerRateLimit: RATE_LIMIT, the deployment's
// ingest_rate_limit, bounds projects without a limit of their own.
func TestIngestServerRateLimit(t *testing.T) {
	f := newFakes(t)
	f.publish(t)
	handle := f.app(t, nil, func(d *appDeps) { d.RatePerMinute = 1 })
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		resp, err := handle(context.Background(), fixture(t, "sentry-store-query.json"))
		if err != nil || resp.StatusCode != want || (want == http.StatusTooManyRequests && !strings.Contains(resp.Body, "1 events, session items and check-ins per minute")) {
			t.Fatalf("event %d at a server limit of 1 a minute: %d %s, %v; want %d", i+1, resp.StatusCode, resp.Body, err, want)
		}
	}
}

// TestIngestProjectRateLimit checks that a project's rate limit in the
// published key set is applied, and a changed one once the set is
// reloaded.
func TestIngestProjectRateLimit(t *testing.T) {
	f := newFakes(t)
	publish := func(limit int) {
		t.Helper()
		err := awsx.PublishKeySet(context.Background(), f.s3, testBucket, testKey,
			awsx.KeySet{Keys: map[string]int64{publicKey: projectID}, RateLimits: map[int64]int{projectID: limit}, IPSalt: salt})
		if err != nil {
			t.Fatal(err)
		}
	}
	publish(1)
	c := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	handle := f.app(t, c)
	send := func() events.APIGatewayV2HTTPResponse {
		t.Helper()
		resp, err := handle(context.Background(), fixture(t, "sentry-store-query.json"))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := send(); resp.StatusCode != http.StatusOK {
		t.Fatalf("first event: %d %s", resp.StatusCode, resp.Body)
	}
	resp := send()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(resp.Body, "over its limit of 1 events, session items and check-ins per minute") {
		t.Fatalf("second event at a limit of 1 a minute: %d %s; want 429 naming the project's limit", resp.StatusCode, resp.Body)
	}

	publish(-1)
	c.advance(keySetTTL)
	for i := range 3 {
		if resp := send(); resp.StatusCode != http.StatusOK {
			t.Fatalf("event %d without a limit: %d %s", i+1, resp.StatusCode, resp.Body)
		}
	}
}
