package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPublicAddr: loopback, private, link-local, metadata, CGNAT,
// multicast, reserved and documentation ranges are not public, and IPv6
// forms that embed an IPv4 address are as public as it is.
func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true},
		{"52.94.76.1", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // EC2 and most clouds' metadata
		{"fd00:ec2::254", false},   // EC2's IPv6 metadata
		{"100.100.100.200", false}, // CGNAT range, another cloud's metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"198.18.0.1", false},
		{"192.0.2.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"2001:0:4136:e378::", false},  // Teredo
		{"2001:db8::1", false},         // documentation
		{"::ffff:8.8.8.8", true},       // mapped public IPv4
		{"2a05:d018:abc::1", true},     // AWS eu-west-1 IPv6
		{"fec0::1", false},             // site-local
		{"100::1", false},              // discard-only
		{"64:ff9b:1::1", false},        // local-use NAT64
		{"192.88.99.1", false},         // 6to4 relay
		{"203.0.113.9", false},         // documentation
		{"198.51.100.7", false},        // documentation
		{"11.0.0.1", true},             // just past 10/8
		{"172.32.0.1", true},           // just past 172.16/12
		{"100.63.255.255", true},       // just below CGNAT
		{"100.128.0.0", true},          // just past CGNAT
		{"169.253.255.255", true},      // just below link-local
		{"2001:4860:4860::8888", true}, // public, near Teredo's 2001::/32
		{"2003::1", true},              // past 6to4's 2002::/16
		{"64:ff9b:2::1", true},         // past local-use NAT64
		{"2001:1::1", true},            // not Teredo (2001:0::/32)
		{"2001:30::1", true},           // past ORCHIDv2
		{"2001:4::1", true},            // past benchmarking
		{"2001:db9::1", true},          // past documentation
		{"2620:0:2d0:200::7", true},    // public
		{"2600:1f18:ffff::1", true},    // AWS us-east-1 IPv6
		{"1.1.1.1", true},
		// A zone (http://[addr%25eth0]/) does not hide a range:
		// netip.Prefix.Contains never matches a zoned address.
		{"2002:a9fe:a9fe::%eth0", false},
		{"64:ff9b::a9fe:a9fe%lo", false},
		{"2001:db8::1%eth0", false},
		{"fe80::1%eth0", false},
		{"2606:4700:4700::1111%eth0", true},
	} {
		if got := publicAddr(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("publicAddr(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

// TestPublicAddrEmbeddedIPv4: an IPv6 address that stands for an IPv4
// one (IPv4-compatible ::/96, IPv4-mapped, IPv4-translated, NAT64's
// 64:ff9b::/96, 6to4's 2002::/16) is judged by that IPv4 address, so
// ::127.0.0.1 is refused and a NAT64 network's 64:ff9b::8.8.8.8 is not.
func TestPublicAddrEmbeddedIPv4(t *testing.T) {
	for _, v4 := range []struct {
		ip     string
		public bool
	}{
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"169.254.169.254", false},
		{"100.100.100.200", false},
		{"0.0.0.0", false},
		{"0.0.0.1", false},
		{"192.0.2.1", false},
		{"8.8.8.8", true},
		{"52.94.76.1", true},
	} {
		a := netip.MustParseAddr(v4.ip).As4()
		hex := fmt.Sprintf("%02x%02x:%02x%02x", a[0], a[1], a[2], a[3])
		for _, form := range []string{
			"::" + v4.ip,              // IPv4-compatible
			"::" + hex,                // the same, in hex
			"::ffff:" + v4.ip,         // IPv4-mapped
			"::ffff:0:" + v4.ip,       // IPv4-translated
			"64:ff9b::" + v4.ip,       // NAT64
			"64:ff9b::" + hex + "%lo", // NAT64, zoned
			"2002:" + hex + "::1",     // 6to4
			"2002:" + hex + ":ab::%eth0",
		} {
			if got := publicAddr(netip.MustParseAddr(form)); got != v4.public {
				t.Errorf("publicAddr(%s) = %v, want %v as for %s", form, got, v4.public, v4.ip)
			}
		}
	}
}

// fakeResolver answers names from a map; a missing name does not resolve.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ips {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// TestCheckDestination: a webhook's host is checked, when it is added,
// with delivery's address policy: a private address typed or resolved is
// refused with delivery's message and how to allow it, without the
// resolved address; a name that does not resolve is ErrUnresolved.
func TestCheckDestination(t *testing.T) {
	res := fakeResolver{
		"hooks.example.com": {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"localhost":         {"127.0.0.1", "::1"},
		"intranet.corp":     {"10.20.30.40"},
		"split.example.com": {"93.184.215.14", "169.254.169.254"},
		"empty.example.com": {},
	}
	for _, tc := range []struct {
		url, want string // want: "" none, else part of the error
		is        error
	}{
		{"https://hooks.example.com/flytrap", "", nil},
		{"http://93.184.215.14:8080/hook", "", nil},
		{"http://127.0.0.1:19104/hook", "127.0.0.1 is not a public address: alerts are not posted to private networks (set " + EnvAllowPrivate + "=1 on the server to allow it)", ErrPrivateAddress},
		{"http://[::1]:8080/hook", "::1 is not a public address", ErrPrivateAddress},
		{"http://[fe80::1%25eth0]/hook", "fe80::1 is not a public address", ErrPrivateAddress},
		{"http://169.254.169.254/latest/meta-data", "169.254.169.254 is not a public address", ErrPrivateAddress},
		{"http://localhost:3000/hook", "the address localhost resolves to is not a public address", ErrPrivateAddress},
		{"https://intranet.corp/hook", "the address intranet.corp resolves to is not a public address", ErrPrivateAddress},
		{"https://split.example.com/hook", "the address split.example.com resolves to is not a public address", ErrPrivateAddress},
		// IPv4 addresses in the other forms resolvers and browsers take
		// are judged as those addresses, never looked up (QA: saved
		// with a "could not resolve" warning).
		{"http://127.1/hook", "127.1 (127.0.0.1) is not a public address: alerts are not posted to private networks", ErrPrivateAddress},
		{"http://2130706433:8080/hook", "2130706433 (127.0.0.1) is not a public address", ErrPrivateAddress},
		{"http://0x7f000001/hook", "0x7f000001 (127.0.0.1) is not a public address", ErrPrivateAddress},
		{"http://0177.0.0.1/hook", "0177.0.0.1 (127.0.0.1) is not a public address", ErrPrivateAddress},
		{"http://0xa9.254.169.254/latest", "0xa9.254.169.254 (169.254.169.254) is not a public address", ErrPrivateAddress},
		{"http://127.0.0.1./hook", "127.0.0.1. (127.0.0.1) is not a public address", ErrPrivateAddress},
		{"http://134744072/hook", "", nil}, // 8.8.8.8
		{"https://nowhere.invalid/hook", "nowhere.invalid", ErrUnresolved},
		{"https://1e100.invalid/hook", "1e100.invalid", ErrUnresolved},
		{"https://empty.example.com/hook", "empty.example.com", ErrUnresolved},
	} {
		err := CheckDestination(context.Background(), res, tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want none", tc.url, err)
		case tc.want != "" && (!errors.Is(err, tc.is) || !strings.Contains(fmt.Sprint(err), tc.want)):
			t.Errorf("%s: %v, want %v saying %q", tc.url, err, tc.is, tc.want)
		case errors.Is(err, ErrPrivateAddress) && strings.Contains(err.Error(), "10.20.30.40"):
			t.Errorf("%s: %v names the resolved address", tc.url, err)
		}
	}
}

// TestIPv4Literal: the forms of an IPv4 address inet_aton accepts are
// that address; anything else, host names that start with digits
// included, is not an address.
func TestIPv4Literal(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0177.1", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0x7f.0.0.0x1", "127.0.0.1"},
		{"127.000.000.001", "127.0.0.1"},
		{"010.0.0.1", "8.0.0.1"},
		{"10.0xffffff", "10.255.255.255"},
		{"169.254.43518", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"134744072", "8.8.8.8"},
		{"8.8.8.8.", "8.8.8.8"},
		{"4294967296", ""},   // 33 bits
		{"256.0.0.1", ""},    // a byte too large
		{"1.2.65536", ""},    // the last part too large for its two bytes
		{"1.2.3.4.5", ""},    // five parts
		{"1..2", ""},         // an empty part
		{"08.0.0.1", ""},     // not octal
		{"0x1g", ""},         // not hex
		{"+1.2.3.4", ""},     // a sign
		{"1_000", ""},        // an underscore
		{"1.2.3.4..", ""},    // two trailing dots
		{"", ""},             // nothing
		{".", ""},            //
		{"1e100.net", ""},    // a name
		{"123.example", ""},  // a name
		{"example.com", ""},  // a name
		{"::1", ""},          // IPv6 is netip's
		{" 127.0.0.1", ""},   // a space
		{"0x0x7f000001", ""}, // hex twice
	} {
		ip, ok := IPv4Literal(tc.host)
		if got := map[bool]string{true: ip.String()}[ok]; got != tc.want {
			t.Errorf("IPv4Literal(%q) = %q, %v; want %q", tc.host, ip, ok, tc.want)
		}
	}
}

// fakeProxy is an HTTP proxy that forwards plain requests to plain and
// tunnels CONNECT to tls whatever the target, recording each target.
type fakeProxy struct {
	plain, tls string // host:port
	mu         sync.Mutex
	targets    []string
}

func (p *fakeProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.targets)
}

func (p *fakeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.targets = append(p.targets, r.Method+" "+r.Host)
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Host = p.plain
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		return
	}
	up, err := net.Dial("tcp", p.tls)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer up.Close()
	w.WriteHeader(http.StatusOK)
	down, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer down.Close()
	go io.Copy(up, rw)
	io.Copy(down, up)
}

// TestProxiedDestinationChecked: through a proxy (HTTP_PROXY and
// HTTPS_PROXY), whose own address may be private, the destination is
// checked before the request is sent: a private address, typed or
// resolved, is refused without the proxy hearing of it, while a public
// name goes through the proxy, forwarded or tunnelled. A request the
// proxy setting sends direct (NO_PROXY) is still checked when dialled.
func TestProxiedDestinationChecked(t *testing.T) {
	var hits atomic.Int32
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	plain := httptest.NewServer(ok)
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(ok)
	t.Cleanup(secure.Close)
	fp := &fakeProxy{plain: plain.Listener.Addr().String(), tls: secure.Listener.Addr().String()}
	proxySrv := httptest.NewServer(fp)
	t.Cleanup(proxySrv.Close)
	proxyURL, _ := url.Parse(proxySrv.URL)
	proxy := func(r *http.Request) (*url.URL, error) {
		if r.URL.Path == "/no-proxy" {
			return nil, nil
		}
		return proxyURL, nil
	}
	res := fakeResolver{
		"hooks.example.com":    {"93.184.215.14"},
		"intranet.example.com": {"10.20.30.40"},
		"split.example.com":    {"93.184.215.14", "127.0.0.1"},
	}
	c := newPublicClient(5*time.Second, proxy, res)
	c.Transport.(*egressTransport).proxied.TLSClientConfig = secure.Client().Transport.(*http.Transport).TLSClientConfig
	for _, tc := range []struct {
		url, via string // via: the proxy's record, "" refused
		is       error  // why refused
	}{
		{plain.URL + "/hook", "", ErrPrivateAddress},
		{secure.URL + "/hook", "", ErrPrivateAddress},
		{"http://[::ffff:127.0.0.1]:" + plain.URL[strings.LastIndex(plain.URL, ":")+1:] + "/hook", "", ErrPrivateAddress},
		{"http://intranet.example.com/hook", "", ErrPrivateAddress},
		{"https://split.example.com/hook", "", ErrPrivateAddress},
		{"http://unknown.example.com/hook", "", ErrUnresolved},
		{plain.URL + "/no-proxy", "", ErrPrivateAddress},
		{"http://hooks.example.com/hook", "POST hooks.example.com", nil},
		{"https://hooks.example.com/hook", "CONNECT hooks.example.com:443", nil},
	} {
		before, seen := hits.Load(), len(fp.seen())
		resp, err := c.Post(tc.url, "application/json", strings.NewReader("{}"))
		if resp != nil {
			resp.Body.Close()
		}
		got := fp.seen()[seen:]
		if tc.via == "" {
			if !errors.Is(err, tc.is) || hits.Load() != before || len(got) != 0 {
				t.Errorf("%s: err %v, %d received, proxy saw %q: want %v before the proxy", tc.url, err, hits.Load()-before, got, tc.is)
			}
			continue
		}
		if err != nil || resp.StatusCode != http.StatusOK || hits.Load() != before+1 || !slices.Equal(got, []string{tc.via}) {
			t.Errorf("%s: err %v, %d received, proxy saw %q, want %q", tc.url, err, hits.Load()-before, got, tc.via)
		}
	}
}

// TestParseAllowPrivate: the usual ways of saying yes and no, in any
// case, and an error naming the variable for anything else.
func TestParseAllowPrivate(t *testing.T) {
	for _, tc := range []struct {
		v      string
		want   bool
		errMsg string
	}{
		{"", false, ""}, {"1", true, ""}, {"true", true, ""}, {"TRUE", true, ""}, {"yes", true, ""}, {"Yes", true, ""}, {"on", true, ""},
		{"0", false, ""}, {"false", false, ""}, {"no", false, ""}, {"off", false, ""},
		{"enable", false, EnvAllowPrivate + `="enable" is not a boolean`}, {"2", false, "is not a boolean"},
	} {
		got, err := ParseAllowPrivate(tc.v)
		if got != tc.want || (err == nil) != (tc.errMsg == "") || err != nil && !strings.Contains(err.Error(), tc.errMsg) {
			t.Errorf("ParseAllowPrivate(%q) = %v, %v; want %v, %q", tc.v, got, err, tc.want, tc.errMsg)
		}
	}
}
