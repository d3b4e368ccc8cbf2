package lambdax_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/getflytrap/flytrap/internal/lambdax"
)

// loadEvent reads an API Gateway HTTP API event fixture from testdata.
func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func TestNewRequestFromFixtures(t *testing.T) {
	tests := []struct {
		fixture     string
		method      string
		path        string
		query       string
		headers     map[string]string // canonical name → value
		bodyPrefix  []byte
		bodyLen     int
		gunzipTo    string // substring of the decompressed body, if gzip
		wantCookies string
	}{
		{
			fixture: "sentry-envelope-gzip.json", method: "POST", path: "/api/42/envelope/",
			headers: map[string]string{
				"Content-Encoding": "gzip",
				"X-Sentry-Auth":    "Sentry sentry_version=7, sentry_client=sentry.javascript.browser/8.40.0, sentry_key=0f1e2d3c4b5a69788796a5b4c3d2e1f0",
				"Origin":           "https://app.example.com",
				"X-Forwarded-For":  "10.1.2.3, 203.0.113.7",
			},
			bodyPrefix: []byte{0x1f, 0x8b}, bodyLen: 699, gunzipTo: `"type":"event"`,
		},
		{
			fixture: "sentry-preflight.json", method: "OPTIONS", path: "/api/42/envelope/",
			headers: map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-sentry-auth"},
		},
		{
			fixture: "sentry-store-query.json", method: "POST", path: "/api/42/store/",
			query:      "sentry_key=0f1e2d3c4b5a69788796a5b4c3d2e1f0&sentry_version=7",
			headers:    map[string]string{"Content-Type": "application/json"},
			bodyPrefix: []byte(`{"event_id":"c0ffee00`), wantCookies: "session=should-not-matter; theme=dark",
		},
		{
			fixture: "flytrap-error.json", method: "POST", path: "/api/errors",
			headers:    map[string]string{"X-Api-Key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "Content-Type": "application/json"},
			bodyPrefix: []byte(`{"data":{"error":`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ev := loadEvent(t, tt.fixture)
			r, err := lambdax.NewRequest(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != tt.method || r.URL.Path != tt.path || r.URL.RawQuery != tt.query {
				t.Errorf("request line = %s %s ? %s; want %s %s ? %s", r.Method, r.URL.Path, r.URL.RawQuery, tt.method, tt.path, tt.query)
			}
			if r.Host != "k3x9abcd12.execute-api.eu-west-1.amazonaws.com" || r.Header.Get("Host") != "" {
				t.Errorf("Host = %q (header %q)", r.Host, r.Header.Get("Host"))
			}
			if r.RemoteAddr != "203.0.113.7:0" {
				t.Errorf("RemoteAddr = %q, want the event's sourceIp", r.RemoteAddr)
			}
			if r.TLS == nil || r.URL.Scheme != "https" {
				t.Error("request does not look like HTTPS")
			}
			if r.RequestURI != r.URL.RequestURI() || r.ProtoMajor != 1 || r.ProtoMinor != 1 {
				t.Errorf("RequestURI %q, proto %s", r.RequestURI, r.Proto)
			}
			for k, v := range tt.headers {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := r.Header.Get("Cookie"); got != tt.wantCookies {
				t.Errorf("Cookie = %q, want %q", got, tt.wantCookies)
			}
			body, _ := io.ReadAll(r.Body)
			if r.ContentLength != int64(len(body)) {
				t.Errorf("ContentLength %d, body %d bytes", r.ContentLength, len(body))
			}
			if !bytes.HasPrefix(body, tt.bodyPrefix) || (tt.bodyLen > 0 && len(body) != tt.bodyLen) {
				t.Errorf("body (%d bytes) starts %q, want %q (%d bytes)", len(body), body[:min(len(body), 20)], tt.bodyPrefix, tt.bodyLen)
			}
			if tt.gunzipTo != "" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("body is not gzip: %v", err)
				}
				plain, _ := io.ReadAll(zr)
				if !strings.Contains(string(plain), tt.gunzipTo) {
					t.Errorf("decompressed body lacks %q", tt.gunzipTo)
				}
			}
		})
	}
}

func TestNewRequestEdgeCases(t *testing.T) {
	base := func() events.APIGatewayV2HTTPRequest {
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/x", Headers: map[string]string{"host": "h.example"}}
		ev.RequestContext.HTTP.Method = "GET"
		ev.RequestContext.HTTP.SourceIP = "2001:db8::1"
		return ev
	}
	tests := []struct {
		name    string
		edit    func(*events.APIGatewayV2HTTPRequest)
		wantErr string
		check   func(*testing.T, *http.Request)
	}{
		{name: "IPv6 source", check: func(t *testing.T, r *http.Request) {
			if r.RemoteAddr != "[2001:db8::1]:0" {
				t.Errorf("RemoteAddr = %q", r.RemoteAddr)
			}
		}},
		{name: "decoded path with reserved characters", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			// HTTP APIs hand over rawPath decoded.
			ev.RawPath, ev.RawQueryString = "/api/a b?c#d", "q=1"
		}, check: func(t *testing.T, r *http.Request) {
			if r.URL.Path != "/api/a b?c#d" || r.URL.RawQuery != "q=1" || r.RequestURI != "/api/a%20b%3Fc%23d?q=1" {
				t.Errorf("path %q query %q uri %q", r.URL.Path, r.URL.RawQuery, r.RequestURI)
			}
		}},
		{name: "path only in request context", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath, ev.RequestContext.HTTP.Path = "", "/from/context"
		}, check: func(t *testing.T, r *http.Request) {
			if r.URL.Path != "/from/context" {
				t.Errorf("path %q", r.URL.Path)
			}
		}},
		{name: "no host header", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers = nil
			ev.RequestContext.DomainName = "api.example"
		}, check: func(t *testing.T, r *http.Request) {
			if r.Host != "api.example" {
				t.Errorf("Host %q", r.Host)
			}
		}},
		{name: "chunked upload arrives complete", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["transfer-encoding"] = "chunked"
			ev.Body = "abc"
		}, check: func(t *testing.T, r *http.Request) {
			if r.Header.Get("Transfer-Encoding") != "" || r.ContentLength != 3 || r.Header.Get("Content-Length") != "3" {
				t.Errorf("framing: %v, length %d", r.Header, r.ContentLength)
			}
		}},
		{name: "binary body", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte{0, 0xff, 0xfe}), true
		}, check: func(t *testing.T, r *http.Request) {
			if b, _ := io.ReadAll(r.Body); !bytes.Equal(b, []byte{0, 0xff, 0xfe}) {
				t.Errorf("body %x", b)
			}
		}},
		{name: "plain http", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["x-forwarded-proto"] = "http"
		}, check: func(t *testing.T, r *http.Request) {
			if r.TLS != nil || r.URL.Scheme != "http" {
				t.Error("marked as HTTPS")
			}
		}},
		{name: "bad base64", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body, ev.IsBase64Encoded = "!!!", true
		}, wantErr: "base64"},
		{name: "not a v2 event", edit: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RequestContext.HTTP.Method = ""
		}, wantErr: "payload 2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := base()
			if tt.edit != nil {
				tt.edit(&ev)
			}
			r, err := lambdax.NewRequest(context.Background(), ev)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestHTTPHandlerResponses(t *testing.T) {
	gz := func() []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte("hello"))
		zw.Close()
		return b.Bytes()
	}()
	tests := []struct {
		name        string
		method      string
		handler     http.HandlerFunc
		wantStatus  int
		wantBody    string // decoded
		wantBase64  bool
		wantHeaders map[string]string
		wantCookies []string
	}{
		{
			name: "json", handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"id":"é"}`)
			}, wantStatus: 201, wantBody: `{"id":"é"}`, wantHeaders: map[string]string{"Content-Type": "application/json"},
		},
		{
			name: "implicit 200 and sniffed type", handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "<html><body>hi</body></html>")
			}, wantStatus: 200, wantBody: "<html><body>hi</body></html>", wantHeaders: map[string]string{"Content-Type": "text/html; charset=utf-8"},
		},
		{
			name: "binary", handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write([]byte{0x00, 0x01, 0xff})
			}, wantStatus: 200, wantBody: "\x00\x01\xff", wantBase64: true,
		},
		{
			name: "compressed text", handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gz)
			}, wantStatus: 200, wantBody: string(gz), wantBase64: true,
		},
		{
			name: "text that is not UTF-8", handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=latin1")
				w.Write([]byte("caf\xe9"))
			}, wantStatus: 200, wantBody: "caf\xe9", wantBase64: true,
		},
		{
			name: "multi-value headers and cookies", handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Vary", "Origin")
				w.Header().Add("Vary", "Accept-Encoding")
				w.Header().Add("Set-Cookie", "a=1; Path=/; HttpOnly")
				w.Header().Add("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT")
				w.WriteHeader(http.StatusNoContent)
			}, wantStatus: 204, wantHeaders: map[string]string{"Vary": "Origin, Accept-Encoding"},
			wantCookies: []string{"a=1; Path=/; HttpOnly", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"},
		},
		{
			name: "head has no body", method: http.MethodHead, handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "ignored")
			}, wantStatus: 200,
		},
		{
			name: "second WriteHeader ignored", handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusTeapot)
				w.WriteHeader(http.StatusInternalServerError)
			}, wantStatus: 418,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{RawPath: "/"}
			ev.RequestContext.HTTP.Method = tt.method
			if ev.RequestContext.HTTP.Method == "" {
				ev.RequestContext.HTTP.Method = http.MethodGet
			}
			resp, err := lambdax.HTTPHandler(tt.handler)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			body := resp.Body
			if resp.IsBase64Encoded {
				b, err := base64.StdEncoding.DecodeString(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			if body != tt.wantBody || resp.IsBase64Encoded != tt.wantBase64 {
				t.Errorf("body %q (base64 %v), want %q (base64 %v)", body, resp.IsBase64Encoded, tt.wantBody, tt.wantBase64)
			}
			for k, v := range tt.wantHeaders {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			if _, ok := resp.Headers["Set-Cookie"]; ok {
				t.Error("Set-Cookie left in headers")
			}
			if strings.Join(resp.Cookies, "|") != strings.Join(tt.wantCookies, "|") {
				t.Errorf("cookies %q, want %q", resp.Cookies, tt.wantCookies)
			}
			// What goes back to API Gateway is this struct as JSON.
			if _, err := json.Marshal(resp); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHTTPHandlerMalformedEvent(t *testing.T) {
	called := false
	resp, err := lambdax.HTTPHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(
		context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/"})
	if err != nil || resp.StatusCode != http.StatusBadRequest || called {
		t.Fatalf("resp %+v, err %v, handler called %v; want a 400 without calling the handler", resp, err, called)
	}
}
