package ingest

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/inbound"
)

// TestInboundFilterShapes sends what real SDKs send for the events the
// inbound filters are for, through ingest, and checks the filters see
// what they need in what ingest queues: the frames' URLs, the User-Agent,
// the request URL, and whether the user's address (which ingest hashes)
// or X-Forwarded-For (which it drops) was a loopback one.
func TestInboundFilterShapes(t *testing.T) {
	// @sentry/browser 11.12.0 in Chromium, an error thrown by a script
	// an extension injected into the page (compat/js's bundle; the
	// extension's content script adds <script src="chrome-extension://…">).
	chromium, err := os.ReadFile("testdata/filters/chromium-extension.envelope")
	if err != nil {
		t.Fatal(err)
	}
	chromium = bytes.ReplaceAll(chromium, []byte(`"public_key":"publickey"`), []byte(`"public_key":"`+testKey+`"`))
	all := inbound.Compile(inbound.Settings{BrowserExtensions: true, Localhost: true, WebCrawlers: true})
	for _, tc := range []struct {
		name   string
		body   []byte
		remote string
		want   inbound.Reason
	}{
		{"chromium extension", chromium, "203.0.113.9:4000", inbound.ReasonBrowserExtensions},
		{"googlebot", envelopeOf(`{}`, true, [2]string{"event", `{"platform":"javascript","exception":{"values":[{"type":"Error","value":"x"}]},
			"request":{"url":"https://shop.example/p/1","headers":{"User-Agent":"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}},
			"sdk":{"name":"sentry.javascript.browser","version":"11.12.0","settings":{"infer_ip":"auto"}}}`}), "66.249.66.1:4000", inbound.ReasonWebCrawlers},
		{"page on localhost", envelopeOf(`{}`, true, [2]string{"event", `{"platform":"javascript","exception":{"values":[{"type":"Error","value":"x"}]},
			"request":{"url":"http://localhost:5173/cart","headers":{"User-Agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"}}}`}), "203.0.113.9:4000", inbound.ReasonLocalhost},
		// sentry-go behind no proxy on the developer's machine: the peer
		// as REMOTE_ADDR, which Relay makes the user's address.
		{"server SDK on loopback", envelopeOf(`{}`, true, [2]string{"event", `{"platform":"go","message":"db down",
			"request":{"url":"http://api.internal/v1","env":{"REMOTE_ADDR":"::1"}},"sdk":{"name":"sentry.go","version":"0.50.0"}}`}), "198.51.100.4:4000", inbound.ReasonLocalhost},
		{"{{auto}} from loopback", envelopeOf(`{}`, true, [2]string{"event", `{"message":"m","user":{"ip_address":"{{auto}}"}}`}), "127.0.0.1:4000", inbound.ReasonLocalhost},
		{"X-Forwarded-For loopback", envelopeOf(`{}`, true, [2]string{"event", `{"message":"m","request":{"url":"https://api.example/","headers":{"X-Forwarded-For":"127.0.0.1"}}}`}), "203.0.113.9:4000", inbound.ReasonLocalhost},
		{"public site", envelopeOf(`{}`, true, [2]string{"event", `{"platform":"javascript","exception":{"values":[{"type":"TypeError","value":"x is undefined","stacktrace":{"frames":[{"filename":"https://shop.example/app.js","function":"f","lineno":1}]}}]},
			"user":{"ip_address":"{{auto}}"},"request":{"url":"https://shop.example/","headers":{"User-Agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"}}}`}), "203.0.113.9:4000", inbound.ReasonNone},
		{"127.0.0.2 is not Relay's loopback", envelopeOf(`{}`, true, [2]string{"event", `{"message":"m","user":{"ip_address":"127.0.0.2"}}`}), "203.0.113.9:4000", inbound.ReasonNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: tc.body, remote: tc.remote}.do(h)
			if rec.Code != 200 {
				t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
			ev := q.only(t)
			if got := all.Match(&ev); got != tc.want {
				t.Errorf("Match = %q, want %q (loopback %v, request %+v)", got, tc.want, ev.LoopbackIP, ev.Request)
			}
			if strings.Contains(string(q.bodies[0]), "127.0.0.1\"") || strings.Contains(string(q.bodies[0]), `"::1"`) {
				t.Errorf("a raw loopback address reached the queue: %s", q.bodies[0])
			}
		})
	}
}

// TestFlytrapSDKLoopback checks the original Flytrap SDKs' data.ip.
func TestFlytrapSDKLoopback(t *testing.T) {
	for ip, want := range map[string]bool{"127.0.0.1": true, "::1": true, "127.0.0.1, 10.0.0.1": true, "10.0.0.1": false} {
		ev, _, err := testDecoder().decodeFlytrap(flytrapError, []byte(`{"data":{"project_id":"42","error":{"name":"Error","message":"m"},"ip":"`+ip+`"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if ev.LoopbackIP != want {
			t.Errorf("data.ip %q: LoopbackIP = %v, want %v", ip, ev.LoopbackIP, want)
		}
	}
}
