package ops

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyz(t *testing.T) {
	const secret = "dial tcp 10.0.3.7:5432: password authentication failed for user flytrap"
	pass := Check{Name: "database", Run: func(context.Context) error { return nil }}
	fail := Check{Name: "database", Run: func(context.Context) error { return errors.New(secret) }}
	full := DiskSpace("/data", DefaultMinFreeBytes, func(string) (uint64, error) { return 4096, nil })
	tests := []struct {
		name   string
		checks []Check
		code   int
		body   string
		logged string // in the log; "" when nothing is
	}{
		{"no checks", nil, 200, `{"status":"ready"}`, ""},
		{"all pass", []Check{pass, DiskSpace("/data", 10, func(string) (uint64, error) { return 10, nil })}, 200, `{"status":"ready"}`, ""},
		{"database down", []Check{fail, pass}, 503, `{"status":"not ready"}`, secret},
		{"full disk", []Check{pass, full}, 503, `{"status":"not ready"}`, "/data has 4096 bytes free, below the minimum of 104857600"},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		rec := httptest.NewRecorder()
		Readyz(slog.New(slog.NewTextHandler(&logs, nil)), tt.checks...).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != tt.code || rec.Body.String() != tt.body+"\n" || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q (%s), want %d %s", tt.name, rec.Code, rec.Body, rec.Header().Get("Content-Type"), tt.code, tt.body)
		}
		if tt.logged == "" && logs.Len() > 0 || !strings.Contains(logs.String(), tt.logged) {
			t.Errorf("%s: log %q, want it to hold %q", tt.name, logs.String(), tt.logged)
		}
	}
}

func TestDiskSpace(t *testing.T) {
	tests := []struct {
		name string
		free uint64
		err  error
		ok   bool
	}{
		{"above the minimum", 101, nil, true},
		{"at the minimum", 100, nil, true},
		{"below the minimum", 99, nil, false},
		{"empty", 0, nil, false},
		{"statfs fails", 1 << 40, errors.New("no such file or directory"), false},
		{"unsupported OS", 0, errors.ErrUnsupported, true},
	}
	for _, tt := range tests {
		c := DiskSpace("/data", 100, func(dir string) (uint64, error) {
			if dir != "/data" {
				t.Errorf("%s: measured %q, want /data", tt.name, dir)
			}
			return tt.free, tt.err
		})
		if err := c.Run(context.Background()); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestFreeBytes(t *testing.T) {
	n, err := FreeBytes(t.TempDir())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil || n == 0 {
		t.Errorf("FreeBytes(temp dir) = %d, %v; want some space", n, err)
	}
	if _, err := FreeBytes("/no/such/dir"); err == nil {
		t.Error("FreeBytes of a missing directory succeeded")
	}
}

func TestRequireAdmin(t *testing.T) {
	authorize := func(_ context.Context, token string) error {
		switch token {
		case "admin":
			return nil
		case "member":
			return ErrForbidden
		case "broken":
			return errors.New("database is down")
		}
		return ErrUnauthorized
	}
	h := RequireAdmin(authorize, slog.New(slog.DiscardHandler), Metrics(func(_ context.Context, w io.Writer) {
		Metric(w, "flytrap_up", "gauge", "Up.", 1)
	}))
	tests := []struct {
		name, header string
		code         int
	}{
		{"no header", "", 401},
		{"not bearer", "Basic YWRtaW46eA==", 401},
		{"empty token", "Bearer  ", 401},
		{"unknown token", "Bearer nope", 401},
		{"member's token", "Bearer member", 403},
		{"failed check", "Bearer broken", 500},
		{"admin's token", "Bearer admin", 200},
		// RFC 9110: the scheme's name is case-insensitive.
		{"admin's token, lower-case scheme", "bearer admin", 200},
		{"member's token, upper-case scheme", "BEARER member", 403},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		served := strings.Contains(rec.Body.String(), "flytrap_up 1")
		if rec.Code != tt.code || served != (tt.code == 200) {
			t.Errorf("%s: %d %q, want %d", tt.name, rec.Code, rec.Body, tt.code)
		}
		if tt.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
		if strings.Contains(rec.Body.String(), "database is down") {
			t.Errorf("%s: the error reached the client", tt.name)
		}
	}
}

func TestNoSniff(t *testing.T) {
	h := NoSniff(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<script>alert(1)</script>", http.StatusBadRequest)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
}
