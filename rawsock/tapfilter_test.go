package rawsock

import (
	"net/netip"
	"testing"

	"github.com/tcpprobe/tcpprobe/wire"
	"golang.org/x/net/bpf"
)

func TestTapFilter(t *testing.T) {
	local4 := netip.MustParseAddrPort("198.18.1.2:40000")
	remote4 := netip.MustParseAddrPort("198.18.2.2:80")
	local6 := netip.MustParseAddrPort("[fd00:1::2]:40000")
	remote6 := netip.MustParseAddrPort("[fd00:2::2]:80")
	seg := func(src, dst netip.AddrPort) []byte {
		b := make([]byte, wire.MaxSegmentLen)
		n, err := wire.EncodeSegment(b, &wire.SegmentSpec{Src: src.Addr(), Dst: dst.Addr(),
			SrcPort: src.Port(), DstPort: dst.Port(), Flags: wire.ACK})
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	eth := func(p []byte) []byte {
		f := make([]byte, 14+len(p))
		if p[0]>>4 == 4 {
			f[12], f[13] = 0x08, 0x00
		} else {
			f[12], f[13] = 0x86, 0xdd
		}
		copy(f[14:], p)
		return f
	}
	other := netip.MustParseAddrPort("198.18.1.2:40001")
	frag := seg(local4, remote4)
	frag[6], frag[7] = 0, 0x10 // fragment offset 128 bytes
	tests := []struct {
		name          string
		local, remote netip.AddrPort
		pkt           []byte
		want          bool
	}{
		{"v4 out", local4, remote4, seg(local4, remote4), true},
		{"v4 in", local4, remote4, seg(remote4, local4), true},
		{"v4 other port", local4, remote4, seg(other, remote4), false},
		{"v4 other port back", local4, remote4, seg(remote4, other), false},
		{"v4 crossed", local4, remote4, seg(local4, local4), false},
		{"v4 later fragment", local4, remote4, frag, false},
		{"v6 out", local6, remote6, seg(local6, remote6), true},
		{"v6 in", local6, remote6, seg(remote6, local6), true},
		{"v6 other", local6, remote6, seg(remote6, netip.MustParseAddrPort("[fd00:1::3]:40000")), false},
		{"v4 on a v6 tap", local6, remote6, seg(local4, remote4), false},
	}
	for _, tc := range tests {
		for _, hdr := range []int{0, 14} {
			prog, err := tapFilter(hdr, tc.local, tc.remote)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			vm, err := bpf.NewVM(prog)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			pkt := tc.pkt
			if hdr == 14 {
				pkt = eth(pkt)
			}
			n, err := vm.Run(pkt)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := n > 0; got != tc.want {
				t.Errorf("%s (link header %d): passed %v, want %v", tc.name, hdr, got, tc.want)
			}
		}
	}
	if _, err := tapFilter(14, local4, remote6); err == nil {
		t.Error("mixed families: no error")
	}
}
