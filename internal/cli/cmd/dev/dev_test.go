package dev

import (
	"net"
	"testing"

	"github.com/getflytrap/flytrap/internal/notify"
)

// TestBeyondLoopback: the plain-HTTP banner and the /metrics warning are for
// listeners other machines can reach, not for the default 127.0.0.1.
func TestBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 8080}, true},
		{&net.UnixAddr{Name: "/tmp/flytrap.sock", Net: "unix"}, false},
	} {
		if got := beyondLoopback(tc.addr); got != tc.want {
			t.Errorf("beyondLoopback(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestBusyGC: --busy-gogc applies unless the operator set GOGC, whose
// value the server must then leave alone.
func TestBusyGC(t *testing.T) {
	for _, tc := range []struct {
		flag int
		env  string
		want int
	}{
		{400, "", 400},
		{0, "", 0},
		{400, "200", 0},
		{400, "off", 0},
	} {
		opts := &Options{BusyGCPercent: tc.flag, Getenv: func(k string) string {
			if k == "GOGC" {
				return tc.env
			}
			return ""
		}}
		if got := busyGC(opts); got != tc.want {
			t.Errorf("--busy-gogc %d with GOGC=%q: %d, want %d", tc.flag, tc.env, got, tc.want)
		}
	}
}

func TestDefaultSender(t *testing.T) {
	for raw, want := range map[string]string{
		"smtp://user:pw@smtp.example.com:587": "flytrap@smtp.example.com",
		"smtp://user:pw@[::1]:2525":           "flytrap@localhost",
		"smtps://127.0.0.1:465":               "flytrap@localhost",
		"smtp://%zz":                          "flytrap@localhost",
	} {
		if got := defaultSender(raw); got != want {
			t.Errorf("defaultSender(%q) = %q, want %q", raw, got, want)
		}
	}
	// What the QA run hit: flytrap@::1 was refused as no address.
	raw := "smtp://user:pw@[::1]:2525"
	if _, err := notify.NewSMTP(raw, defaultSender(raw), notify.SMTPOptions{}); err != nil {
		t.Errorf("NewSMTP with the default sender of %s: %v", raw, err)
	}
}
