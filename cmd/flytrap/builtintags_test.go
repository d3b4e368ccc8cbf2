package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	sentryhttp "github.com/getsentry/sentry-go/http"
)

// TestSentryGoBuiltinTags sends a panic of a handler wrapped by sentryhttp
// with the real sentry-go, as a new user's first server would, and finds
// its issue by the tags Sentry derives from the event: the server name,
// the transaction and the request URL without its query.
//
// sentryhttp names the request's span "GET /index.html" but sentry-go
// (v0.50) puts no transaction on error events, so the test names it with
// an event processor, as an application that wants the tag does.
func TestSentryGoBuiltinTags(t *testing.T) {
	p := startDev(t, t.TempDir(), nil)
	hub := newHub(t, p.info.DSN, "shop@1", "production", func(o *sentry.ClientOptions) { o.ServerName = "qa-host" })
	hub.Scope().AddEventProcessor(func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
		if ev.Request != nil {
			ev.Transaction = ev.Request.Method + " " + strings.TrimPrefix(ev.Request.URL, "http://shop.example")
		}
		return ev
	})
	handler := sentryhttp.New(sentryhttp.Options{}).HandleFunc(func(http.ResponseWriter, *http.Request) {
		panic("cart is nil")
	})
	req := httptest.NewRequest("GET", "http://shop.example/index.html?session=abc#top", nil)
	handler.ServeHTTP(httptest.NewRecorder(), req.WithContext(sentry.SetHubOnContext(req.Context(), hub)))
	if !hub.Flush(5 * time.Second) {
		t.Fatal("sentry-go did not flush")
	}
	want := p.waitIssue(t, "cart is nil", 1)
	for _, q := range []string{"server_name:qa-host", `transaction:"GET /index.html"`, `url:"http://shop.example/index.html"`} {
		got := p.issues(t, "status=all&query="+url.QueryEscape(q))
		if len(got) != 1 || got[0].ID != want.ID {
			t.Errorf("%s lists %+v, want the panic's issue %d", q, got, want.ID)
		}
	}
	var detail struct {
		Tags []struct{ Key, Value string } `json:"tags"`
	}
	p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", want.ID), nil, &detail)
	tags := make(map[string]string)
	for _, tag := range detail.Tags {
		tags[tag.Key] = tag.Value
	}
	if tags["server_name"] != "qa-host" || tags["transaction"] != "GET /index.html" || tags["url"] != "http://shop.example/index.html" {
		t.Errorf("the issue's tags: %v", tags)
	}
}
