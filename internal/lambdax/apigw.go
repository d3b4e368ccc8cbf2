// Package lambdax adapts AWS Lambda event payloads to Flytrap's ordinary Go
// interfaces, so the runtime binaries stay thin mains around the same
// http.Handler and processor `flytrap dev` runs:
//
//   - HTTPHandler serves API Gateway HTTP API events (payload format 2.0)
//     with an http.Handler;
//   - SQSBatchHandler hands an SQS event source batch to a function that
//     processes it as one, and reports partial batch failures.
package lambdax

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// HTTPHandler returns a Lambda handler that serves API Gateway HTTP API
// events (payload format 2.0) with h. A malformed event (which API Gateway
// does not send) is answered 400 rather than failing the invocation, so the
// client gets a response instead of API Gateway's bare 500.
func HTTPHandler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := NewRequest(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       err.Error() + "\n",
			}, nil
		}
		w := newResponseWriter()
		h.ServeHTTP(w, r)
		return w.response(r.Method == http.MethodHead), nil
	}
}

// NewRequest builds the request an HTTP API event describes:
//
//   - the method, rawPath and rawQueryString (HTTP APIs deliver rawPath
//     percent-decoded, so it becomes URL.Path as is);
//   - every header (API Gateway joins repeated headers with commas), the
//     cookies array as one Cookie header, and the Host;
//   - the body, base64-decoded when isBase64Encoded, with its length;
//   - requestContext.http.sourceIp as RemoteAddr, so code that uses the
//     peer address (ingest's IP hashing) sees the client, not a proxy;
//   - a non-nil TLS state, since HTTP APIs only accept HTTPS.
func NewRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, errors.New("lambdax: event has no requestContext.http.method; is this an HTTP API payload 2.0 event?")
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("lambdax: body is not valid base64: %w", err)
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("lambdax: %w", err)
	}
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	// The body is complete; whatever framing the client used is gone.
	r.Header.Del("Transfer-Encoding")
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if len(body) == 0 {
		r.Body = http.NoBody
	}

	host := r.Header.Get("Host")
	if host == "" {
		host = ev.RequestContext.DomainName
	}
	r.Host = host
	r.Header.Del("Host") // net/http keeps it in Request.Host only
	r.URL = &url.URL{Scheme: "https", Host: host, Path: path, RawQuery: ev.RawQueryString}
	r.RequestURI = r.URL.RequestURI()
	if proto := ev.RequestContext.HTTP.Protocol; proto != "" {
		if major, minor, ok := http.ParseHTTPVersion(proto); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = proto, major, minor
		}
	}
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	if !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "http") {
		r.TLS = &tls.ConnectionState{ServerName: host, HandshakeComplete: true}
	} else {
		r.URL.Scheme = "http"
	}
	return r, nil
}

// responseWriter collects a response in memory for the event reply. Lambda
// responses are buffered anyway (at most 6 MB).
type responseWriter struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func newResponseWriter() *responseWriter { return &responseWriter{header: http.Header{}} }

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.wroteHeader || status < 100 || status > 999 {
		return
	}
	if status < 200 {
		// 1xx informational responses cannot be relayed; the final
		// status follows.
		return
	}
	w.status, w.wroteHeader = status, true
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(p)
}

// Flush implements http.Flusher; everything is sent at the end anyway.
func (w *responseWriter) Flush() {}

// response converts what the handler wrote. Repeated headers are joined
// with commas (payload 2.0 has no multi-value headers) except Set-Cookie,
// which goes to the cookies array because commas are ambiguous in it.
// The body is base64-encoded unless it is UTF-8 text, so binary and
// compressed responses survive the JSON reply intact.
func (w *responseWriter) response(head bool) events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	if head {
		body = nil
	}
	if _, set := w.header["Content-Type"]; !set && len(body) > 0 {
		// As net/http's server does.
		w.header.Set("Content-Type", http.DetectContentType(body))
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for k, vs := range w.header {
		if len(vs) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if isText(w.header, body) {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

// isText reports whether body can travel as a JSON string unchanged: valid
// UTF-8, not content-encoded, and of a textual media type (or none).
func isText(h http.Header, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	if !utf8.Valid(body) {
		return false
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml",
		"application/x-www-form-urlencoded", "application/x-sentry-envelope", "image/svg+xml":
		return true
	}
	return false
}
