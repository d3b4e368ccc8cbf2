package notify

import (
	"net/netip"
	"testing"
)

// TestPublicAddr: loopback, private, link-local, metadata, CGNAT,
// multicast, reserved and IPv6 forms that embed IPv4 are not public.
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
		{"2002:a9fe:a9fe::", false},    // 6to4 of 169.254.169.254
		{"64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
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
		{"64:ff9b::", false},           // NAT64 of 0.0.0.0
		{"1.1.1.1", true},
	} {
		if got := publicAddr(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("publicAddr(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}
