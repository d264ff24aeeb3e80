package rawsock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"
)

var (
	our4   = netip.MustParseAddr("198.18.200.1")
	our4b  = netip.MustParseAddr("198.18.200.3")
	other4 = netip.MustParseAddr("198.18.200.2")
	our6   = netip.MustParseAddr("fd00:200::1")
	other6 = netip.MustParseAddr("fd00:200::2")
	// differs from our6 only in the last word, to exercise every compare
	near6 = netip.MustParseAddr("fd00:200::1:1")
)

// ip4 builds a minimal IPv4 packet: 20-byte header, then payload bytes.
func ip4(proto byte, src, dst netip.Addr, payload int) []byte {
	b := make([]byte, 20+payload)
	b[0] = 0x45                                       // version 4, IHL 5
	binary.BigEndian.PutUint16(b[2:], uint16(len(b))) // total length
	b[8] = 64                                         // TTL
	b[9] = proto                                      // protocol
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:]) // source
	copy(b[16:20], d[:]) // destination
	return b
}

// ip6 builds a minimal IPv6 packet: 40-byte header, then payload bytes.
func ip6(next byte, src, dst netip.Addr, payload int) []byte {
	b := make([]byte, 40+payload)
	b[0] = 0x60                                        // version 6
	binary.BigEndian.PutUint16(b[4:], uint16(payload)) // payload length
	b[6] = next                                        // next header
	b[7] = 64                                          // hop limit
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])  // source
	copy(b[24:40], d[:]) // destination
	return b
}

// eth prepends an Ethernet header with the given EtherType.
func eth(etherType uint16, payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, 1})  // destination
	copy(b[6:12], []byte{0x02, 0, 0, 0, 0, 2}) // source
	binary.BigEndian.PutUint16(b[12:], etherType)
	return append(b, payload...)
}

func TestFilterProgram(t *testing.T) {
	addrs := []netip.Addr{our4, our6, our4b, netip.MustParseAddr("::ffff:198.18.200.1")}
	arp := make([]byte, 28)
	type frame struct {
		name string
		pkt  []byte // IP packet, or the whole frame when etherType is 0
		et   uint16 // EtherType for the Ethernet case; 0: use pkt as is
		pass bool
	}
	frames := []frame{
		{"v4 TCP to us", ip4(protoTCP, other4, our4, 20), etherTypeIPv4, true},
		{"v4 TCP to our second address", ip4(protoTCP, other4, our4b, 20), etherTypeIPv4, true},
		{"v4 ICMP to us", ip4(protoICMP, other4, our4, 36), etherTypeIPv4, true},
		{"v4 UDP to us", ip4(17, other4, our4, 8), etherTypeIPv4, false},
		{"v4 TCP to another host", ip4(protoTCP, our4, other4, 20), etherTypeIPv4, false},
		{"v4 TCP truncated before the destination", ip4(protoTCP, other4, our4, 20)[:14], etherTypeIPv4, false},
		{"v6 TCP to us", ip6(protoTCP, other6, our6, 20), etherTypeIPv6, true},
		{"v6 ICMPv6 to us", ip6(protoICMPv6, other6, our6, 48), etherTypeIPv6, true},
		{"v6 hop-by-hop to us (conservative)", ip6(protoHopByHop, other6, our6, 28), etherTypeIPv6, true},
		{"v6 fragment to us (conservative)", ip6(protoFragment, other6, our6, 28), etherTypeIPv6, true},
		{"v6 UDP to us", ip6(17, other6, our6, 8), etherTypeIPv6, false},
		{"v6 TCP to another host", ip6(protoTCP, our6, other6, 20), etherTypeIPv6, false},
		{"v6 TCP to an address differing in the last word", ip6(protoTCP, other6, near6, 20), etherTypeIPv6, false},
		{"ARP", arp, etherTypeARP, false},
		{"v4 packet under the IPv6 EtherType", ip4(protoTCP, other4, our4, 20), etherTypeIPv6, false},
	}
	for _, hdr := range []int{ethHeaderLen, 0} {
		prog, err := filterProgram(hdr, addrs)
		if err != nil {
			t.Fatalf("filterProgram(%d): %v", hdr, err)
		}
		vm, err := bpf.NewVM(prog)
		if err != nil {
			t.Fatalf("bpf.NewVM(%d): %v", hdr, err)
		}
		for _, f := range frames {
			if hdr == 0 && (f.et == etherTypeARP || f.name == "v4 packet under the IPv6 EtherType") {
				continue // no EtherType without a link layer
			}
			t.Run(fmt.Sprintf("hdr=%d/%s", hdr, f.name), func(t *testing.T) {
				in := f.pkt
				if hdr != 0 {
					in = eth(f.et, f.pkt)
				}
				n, err := vm.Run(in)
				if err != nil {
					t.Fatalf("vm.Run: %v", err)
				}
				if diff := cmp.Diff(f.pass, n > 0); diff != "" {
					t.Errorf("passes (-want +got):\n%s", diff)
				}
				if f.pass && n < len(in) {
					t.Errorf("snap length %d, want at least the whole frame (%d)", n, len(in))
				}
			})
		}
	}
	// Assembled program: prefix + core, under the kernel's limit.
	if _, err := assembleFilter(ethHeaderLen, addrs); err != nil {
		t.Fatalf("assembleFilter: %v", err)
	}
}

func TestFilterOutgoingPrefixIsSeparable(t *testing.T) {
	// The prefix must fall through to the next instruction for every frame
	// that is not outgoing: it is three instructions, the jump skips the
	// reject when pkttype != PACKET_OUTGOING.
	p := outgoingFilter()
	want := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 4, SkipTrue: 0, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("outgoingFilter (-want +got):\n%s", diff)
	}
}

func TestFilterManyAddresses(t *testing.T) {
	var addrs []netip.Addr
	for i := range 300 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
		a := our6.As16()
		a[14], a[15] = byte(i>>8), byte(i)
		addrs = append(addrs, netip.AddrFrom16(a))
	}
	prog, err := filterProgram(ethHeaderLen, addrs)
	if err != nil {
		t.Fatalf("filterProgram: %v", err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("bpf.NewVM: %v", err)
	}
	last4, last6 := addrs[len(addrs)-2], addrs[len(addrs)-1]
	for _, tc := range []struct {
		name string
		in   []byte
		pass bool
	}{
		{"last v4", eth(etherTypeIPv4, ip4(protoTCP, other4, last4, 20)), true},
		{"last v6", eth(etherTypeIPv6, ip6(protoTCP, other6, last6, 20)), true},
		{"v6 not listed", eth(etherTypeIPv6, ip6(protoTCP, our6, near6, 20)), false},
	} {
		n, err := vm.Run(tc.in)
		if err != nil || (n > 0) != tc.pass {
			t.Errorf("%s: Run = %d, %v; want pass=%v", tc.name, n, err, tc.pass)
		}
	}
	// Too many addresses for BPF_MAXINSNS: a clear error.
	for i := range 500 {
		a := our6.As16()
		a[12], a[13] = 1, byte(i)
		addrs = append(addrs, netip.AddrFrom16(a))
	}
	if _, err := filterProgram(ethHeaderLen, addrs); err == nil || !strings.Contains(err.Error(), "BPF instructions") {
		t.Errorf("filterProgram with %d addresses: err = %v, want the instruction limit", len(addrs), err)
	}
	if _, err := filterProgram(ethHeaderLen, nil); err == nil {
		t.Error("filterProgram with no addresses: want an error")
	}
}

func TestRouteError(t *testing.T) {
	for _, e := range []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EACCES, syscall.EINVAL} {
		err := error(&RouteError{Dst: our6, Errno: e})
		if !errors.Is(err, e) {
			t.Errorf("errors.Is(%v, %v) = false", err, e)
		}
		if !strings.Contains(err.Error(), "ip -6 route get fd00:200::1") {
			t.Errorf("%q does not say what to check", err)
		}
	}
}

func TestCandidatePorts(t *testing.T) {
	r, err := parsePortRange("32768\t60999\n")
	if err != nil {
		t.Fatal(err)
	}
	res, err := parsePortList("8080,9000-9002\n")
	if err != nil {
		t.Fatal(err)
	}
	c := candidatePorts(r, res)
	if got, want := len(c), (32768-1024)+(65535-60999)-4; got != want {
		t.Errorf("len = %d, want %d", got, want)
	}
	for _, p := range c {
		if p < 1024 || (p >= 32768 && p <= 60999) || p == 8080 || (p >= 9000 && p <= 9002) {
			t.Fatalf("candidate %d is not allowed", p)
		}
	}
	for _, bad := range []string{"", "1", "60999 32768", "a b", "0 10"} {
		if _, err := parsePortRange(bad); err == nil {
			t.Errorf("parsePortRange(%q): want an error", bad)
		}
	}
	if _, err := parsePortList("5-3"); err == nil {
		t.Error("parsePortList(5-3): want an error")
	}
}
