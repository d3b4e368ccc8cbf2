package main

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

func TestNudgeAfterWrites(t *testing.T) {
	tests := []struct {
		method    string
		wantNudge bool
	}{
		{http.MethodGet, false},
		{http.MethodHead, false},
		{http.MethodOptions, false},
		{http.MethodPost, true},
		{http.MethodPut, true},
		{http.MethodPatch, true},
		{http.MethodDelete, true},
	}
	for _, tt := range tests {
		served, nudged := false, false
		h := nudgeAfterWrites(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			if nudged {
				t.Errorf("%s: nudged before the request was served", tt.method)
			}
			served = true
		}), func() { nudged = true })
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, "/api/v1/projects/1/keys/rotate", nil))
		if !served || nudged != tt.wantNudge {
			t.Errorf("%s: served %v, nudged %v, want nudged %v", tt.method, served, nudged, tt.wantNudge)
		}
	}
}

// TestNudgesMerge checks that a burst of writes leaves one check pending
// and never blocks the request that nudges.
func TestNudgesMerge(t *testing.T) {
	p := &publisher{nudged: make(chan struct{}, 1)}
	for range 10 {
		p.nudge()
	}
	if n := len(p.nudged); n != 1 {
		t.Errorf("%d checks pending after 10 nudges, want 1", n)
	}
	(&publisher{}).nudge() // without a channel: a no-op, not a block
}

// TestKeySetRateLimits checks that the published set names the rate limits
// of the projects that have their own, and only theirs.
func TestKeySetRateLimits(t *testing.T) {
	ks := keySet(map[string]store.ActiveKey{
		"a1": {ProjectID: 1, RateLimit: 120},
		"a2": {ProjectID: 1, RateLimit: 120},
		"b":  {ProjectID: 2},
		"c":  {ProjectID: 3, RateLimit: store.RateLimitNone},
	}, "salt")
	if want := map[string]int64{"a1": 1, "a2": 1, "b": 2, "c": 3}; !maps.Equal(ks.Keys, want) || ks.IPSalt != "salt" {
		t.Errorf("keys %v, salt %q; want %v, salt", ks.Keys, ks.IPSalt, want)
	}
	if want := map[int64]int{1: 120, 3: -1}; !maps.Equal(ks.RateLimits, want) {
		t.Errorf("rate limits %v, want %v", ks.RateLimits, want)
	}
	if ks := keySet(map[string]store.ActiveKey{"b": {ProjectID: 2}}, "salt"); ks.RateLimits != nil {
		t.Errorf("rate limits %v for projects at the default, want none (the field left out)", ks.RateLimits)
	}
}
