package cli

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpprobe/tcpprobe/probe"
)

func TestSourceFits(t *testing.T) {
	local := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("198.18.1.2"),
		netip.MustParseAddr("fd00:1::2"), netip.MustParseAddr("fe80::2"),
	}
	v4 := probe.Target{Name: "198.18.2.2:80", Addr: netip.MustParseAddrPort("198.18.2.2:80")}
	v6 := probe.Target{Name: "[fd00:2::2]:80", Addr: netip.MustParseAddrPort("[fd00:2::2]:80")}
	tests := []struct {
		name    string
		src     string
		targets []probe.Target
		want    string // "" for nil, else a piece of the message
	}{
		{"v4 local", "198.18.1.2", []probe.Target{v4}, ""},
		{"v6 local", "fd00:1::2", []probe.Target{v6}, ""},
		{"v6 link-local with zone", "fe80::2%c0", []probe.Target{v6}, ""},
		{"v4-mapped", "::ffff:198.18.1.2", []probe.Target{v4}, ""},
		{"not local", "198.18.9.9", []probe.Target{v4}, "--source 198.18.9.9 is not an address of this host"},
		{"v6 not local", "fd00:9::9", []probe.Target{v6}, "not an address of this host"},
		{"v4 source, v6 target", "198.18.1.2", []probe.Target{v4, v6}, "--source 198.18.1.2 is IPv4 but target [fd00:2::2]:80 is IPv6"},
		{"v6 source, v4 target", "fd00:1::2", []probe.Target{v4}, "is IPv6 but target 198.18.2.2:80 is IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sourceFits(netip.MustParseAddr(tt.src), local, tt.targets)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("sourceFits = %v, want nil", err)
				}
				return
			}
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("sourceFits = %v, want a usage error saying %q", err, tt.want)
			}
		})
	}
}

// TestSourceNotLocal: the command refuses a --source this host does not
// have, with exit 2, before anything is sent.
func TestSourceNotLocal(t *testing.T) {
	n, env := fake()
	o := runCmd(t, env, "", "--source", "198.18.9.9", "198.18.2.2:80")
	if o.code != 2 || !strings.Contains(o.stderr, "not an address of this host") {
		t.Fatalf("exit %d, stderr %q; want 2 and a word on the source", o.code, o.stderr)
	}
	if sent := n.Sent(); len(sent) != 0 {
		t.Errorf("%d packets sent, want none", len(sent))
	}
}
