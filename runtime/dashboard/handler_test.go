package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
