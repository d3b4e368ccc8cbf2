package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrPrivateAddress is why a delivery to a loopback, private, link-local
// or otherwise non-public address was refused: webhook and Slack URLs are
// typed in by project admins, and without this check the server would
// post to whatever its own network reaches, the cloud metadata service
// (169.254.169.254) included, and record the answer as the delivery's
// last error.
var ErrPrivateAddress = errors.New("not a public address")

// EnvAllowPrivate names the variable that, set to 1, lets alerts reach
// private networks (a webhook receiver inside the team's network, or on
// the same machine while trying Flytrap out).
const EnvAllowPrivate = "FLYTRAP_ALERTS_ALLOW_PRIVATE"

// ParseAllowPrivate reads EnvAllowPrivate's value as a boolean: empty is
// false; 1, t, true, yes, y and on are true and 0, f, false, no, n and off
// false, in any case. Anything else is an error, which servers refuse to
// start with, so that a value meant to allow ("enable") does not silently
// leave private addresses refused.
func ParseAllowPrivate(v string) (bool, error) {
	w := strings.ToLower(strings.TrimSpace(v))
	switch w {
	case "":
		return false, nil
	case "yes", "y", "on":
		return true, nil
	case "no", "n", "off":
		return false, nil
	}
	b, err := strconv.ParseBool(w)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean: set it to 1, true or yes to let alerts reach private addresses, or leave it unset", EnvAllowPrivate, v)
	}
	return b, nil
}

// nonPublic are ranges netip's predicates do not cover that must not be
// reached either.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT; some clouds' metadata services
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("2001::/32"),       // Teredo: reached through relays, its IPv4 addresses obfuscated
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:2::/48"),     // benchmarking
	netip.MustParsePrefix("2001:10::/28"),    // ORCHID
	netip.MustParsePrefix("2001:20::/28"),    // ORCHIDv2
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// embedsIPv4 are the IPv6 ranges whose addresses stand for an IPv4
// address, at byte at: a connection to one reaches that IPv4 address (or
// a translator's route to it), so it is as public as the IPv4 address is.
// IPv4-mapped ::ffff:0:0/96 is netip.Addr.Unmap's.
var embedsIPv4 = []struct {
	prefix netip.Prefix
	at     int
}{
	{netip.MustParsePrefix("::/96"), 12},           // IPv4-compatible, deprecated
	{netip.MustParsePrefix("::ffff:0:0:0/96"), 12}, // IPv4-translated (SIIT)
	{netip.MustParsePrefix("64:ff9b::/96"), 12},    // NAT64's well-known prefix
	{netip.MustParsePrefix("2002::/16"), 2},        // 6to4
}

// publicAddr says whether ip is an address on the public internet; an
// IPv6 address that embeds an IPv4 one (embedsIPv4) is judged by that
// IPv4 address. Its zone, if any, is dropped first: netip.Prefix.Contains
// never matches a zoned address, so a zone would have hidden every range.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, e := range embedsIPv4 {
		if e.prefix.Contains(ip) {
			b := ip.As16()
			return publicAddr(netip.AddrFrom4([4]byte(b[e.at : e.at+4])))
		}
	}
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// checkPublic is a net.Dialer Control function: it runs after DNS, on
// the very address about to be connected to, so a name that resolves (or
// is re-resolved) to a private address is refused too.
func checkPublic(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%s: %w", host, ErrPrivateAddress)
	}
	if !publicAddr(ip) {
		return privateError(ip.String())
	}
	return nil
}

// privateError says that what (an address, or the address a name
// resolves to) is not public, and how to allow it.
func privateError(what string) error {
	return fmt.Errorf("%s is %w: alerts are not posted to private networks (set %s=1 on the server to allow it)", what, ErrPrivateAddress, EnvAllowPrivate)
}

// ErrUnresolved is a destination whose host did not resolve when it was
// checked (CheckDestination).
var ErrUnresolved = errors.New("could not resolve the host name")

// Resolver looks up a host name's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds CheckDestination's lookup: it runs while an admin
// waits for the form's answer.
const resolveTimeout = 3 * time.Second

// CheckDestination applies delivery's address policy (the one checkPublic
// applies to every connection) to rawURL's host when a channel is added,
// so the admin learns at once what every delivery would be refused: an
// address, typed or one of those the name resolves to, that is not public
// is an error wrapping ErrPrivateAddress that says how to allow it. A
// name that does not resolve is an error wrapping ErrUnresolved: DNS may
// be down for a moment, so callers warn rather than refuse. Resolving now
// proves nothing about later (DNS rebinding): delivery checks again.
func CheckDestination(ctx context.Context, res Resolver, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	return checkHost(ctx, res, u.Hostname())
}

// checkHost is CheckDestination on a URL's host: an address is judged as
// it is, an IPv4 address in another form (IPv4Literal) as that address,
// and a name by every address it resolves to.
func checkHost(ctx context.Context, res Resolver, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if !publicAddr(ip) {
			return privateError(ip.WithZone("").String())
		}
		return nil
	}
	if ip, ok := IPv4Literal(host); ok {
		if !publicAddr(ip) {
			return privateError(host + " (" + ip.String() + ")")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := res.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %w", host, ErrUnresolved, err)
	}
	for _, ip := range addrs {
		if !publicAddr(ip) {
			// Not the address itself: a project's admin need not
			// learn the server's internal names' addresses.
			return privateError("the address " + host + " resolves to")
		}
	}
	return nil
}

// IPv4Literal parses host as an IPv4 address written in any of the forms
// inet_aton accepts, and so resolvers, curl and browsers (the WHATWG URL
// standard) do, the dotted quad included: one to four parts separated by dots, each decimal, octal (a leading 0) or hex (a
// leading 0x), the last one filling the bytes left, so 127.1, 2130706433,
// 0x7f000001 and 0177.0.0.1 are all 127.0.0.1; a single trailing dot is
// allowed, as browsers allow it. ok is false for anything else, host
// names such as 1e100.net or 123.example included: treated as names, the
// forms would be looked up in DNS where a resolver takes them for the
// address.
func IPv4Literal(host string) (ip netip.Addr, ok bool) {
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	// Each part but the last is a byte; the last fills the bytes left.
	var v uint64
	for _, p := range parts[:len(parts)-1] {
		n, ok := ipv4Part(p)
		if !ok || n > 0xff {
			return netip.Addr{}, false
		}
		v = v<<8 | n
	}
	left := 8 * (5 - len(parts))
	n, ok := ipv4Part(parts[len(parts)-1])
	if !ok || n >= 1<<left {
		return netip.Addr{}, false
	}
	v = v<<left | n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// ipv4Part parses one part of an IPv4Literal: decimal, octal after a
// leading 0, or hex after 0x or 0X (0x alone being 0, as inet_aton has
// it), without a sign; values beyond 32 bits are not a part.
func ipv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	// Without base 0, ParseUint takes no sign, prefix or underscore.
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// newHTTPClient is the client of Slack and webhook deliveries: bounded by
// timeout, through the proxy the environment names (HTTP_PROXY,
// HTTPS_PROXY, NO_PROXY), and unless allowPrivate, able to reach public
// addresses only (egressTransport).
func newHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	if allowPrivate {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = dialer(nil)
		return &http.Client{Timeout: timeout, Transport: t, CheckRedirect: noRedirects}
	}
	return newPublicClient(timeout, http.ProxyFromEnvironment, net.DefaultResolver)
}

// newPublicClient is newHTTPClient's client without allowPrivate, with
// proxy choosing each request's proxy (nil for none) and res resolving
// the destinations sent through one.
func newPublicClient(timeout time.Duration, proxy func(*http.Request) (*url.URL, error), res Resolver) *http.Client {
	direct := http.DefaultTransport.(*http.Transport).Clone()
	direct.Proxy = nil
	direct.DialContext = dialer(checkPublic)
	proxied := http.DefaultTransport.(*http.Transport).Clone()
	proxied.Proxy = chosenProxy
	proxied.DialContext = dialer(nil)
	t := &egressTransport{proxy: proxy, resolver: res, direct: direct, proxied: proxied}
	return &http.Client{Timeout: timeout, Transport: t, CheckRedirect: noRedirects}
}

// dialer is deliveries' DialContext, control (if any) its Control.
func dialer(control func(network, address string, c syscall.RawConn) error) func(ctx context.Context, network, address string) (net.Conn, error) {
	return (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: control}).DialContext
}

// egressTransport keeps deliveries to public destinations, with or
// without a proxy. A request sent directly is checked by its dialer on
// the very address it connects to (checkPublic). Through a proxy that
// check would judge the proxy's address, not the destination's, and let
// a project admin reach whatever the proxy reaches: so the destination's
// host is resolved first and the request refused unless every address
// is public (checkHost). The proxy itself, which the server's operator
// chose, may be on any address.
type egressTransport struct {
	proxy           func(*http.Request) (*url.URL, error)
	resolver        Resolver
	direct, proxied *http.Transport
}

// proxyKey is the context key under which egressTransport hands the
// proxy it chose, and checked the destination for, to its proxied
// transport (chosenProxy).
type proxyKey struct{}

// RoundTrip implements http.RoundTripper.
func (t *egressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p, err := t.proxy(req)
	if err == nil && p == nil {
		return t.direct.RoundTrip(req)
	}
	if err == nil {
		err = checkHost(req.Context(), t.resolver, req.URL.Hostname())
	}
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.proxied.RoundTrip(req.WithContext(context.WithValue(req.Context(), proxyKey{}, p)))
}

// chosenProxy is the proxied transport's Proxy: the one egressTransport
// chose, never none, since without a proxy the destination would be
// dialled without checkPublic.
func chosenProxy(req *http.Request) (*url.URL, error) {
	if p, ok := req.Context().Value(proxyKey{}).(*url.URL); ok && p != nil {
		return p, nil
	}
	return nil, errors.New("notify: proxied request without a proxy")
}

// noRedirects hands every redirect back to post as the answer, as
// Sentry's webhooks do: the alert, signed, goes to the host its channel
// names and nowhere else, and a redirect cannot turn the POST into a GET
// without the alert that a receiver answers 2xx.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
