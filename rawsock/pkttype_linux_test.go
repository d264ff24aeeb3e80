package rawsock

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRecvInfoPktTypeVLAN: a frame's link-layer addressing and its 802.1Q
// tag reach RecvInfo on both receive paths, so the receive pipeline can
// drop what the kernel's IP and TCP would (broadcast, other host, a VLAN
// without an interface).
func TestRecvInfoPktTypeVLAN(t *testing.T) {
	n := newTestNet(t)
	other := net.HardwareAddr{0x02, 0, 0, 0xc8, 0, 0x99}
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	cases := []struct {
		name  string
		dst   net.HardwareAddr
		vid   uint16 // 0: untagged
		sport uint16
		want  RecvInfo
	}{
		{"to us", macA, 0, 1001, RecvInfo{PktType: 0, EtherType: 0x0800}},
		{"broadcast", bcast, 0, 1002, RecvInfo{PktType: 1, EtherType: 0x0800}},
		{"another host", other, 0, 1003, RecvInfo{PktType: 3, EtherType: 0x0800}},
		{"VLAN 5", macA, 5, 1004, RecvInfo{PktType: 0, EtherType: 0x0800, VLANValid: true, VLANTCI: 5}},
	}
	for _, queue := range []bool{false, true} {
		t.Run(map[bool]string{false: "ring", true: "socket-queue"}[queue], func(t *testing.T) {
			l := openLink(t, n, "a0", LinkConfig{Addrs: []netip.Addr{addrA4}, SocketQueue: queue})
			c := collect(t, l)
			in(t, n.b, func() {
				ifi, err := net.InterfaceByName("b0")
				if err != nil {
					t.Errorf("b0: %v", err)
					return
				}
				fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Errorf("packet socket: %v", err)
					return
				}
				defer unix.Close(fd)
				for _, tc := range cases {
					ip := synPacket(addrB4, addrA4, tc.sport, 80, 7)
					f := append(append([]byte{}, tc.dst...), macB...)
					if tc.vid != 0 {
						f = binary.BigEndian.AppendUint16(f, 0x8100)
						f = binary.BigEndian.AppendUint16(f, tc.vid)
					}
					f = binary.BigEndian.AppendUint16(f, 0x0800)
					f = append(f, ip...)
					sa := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
					copy(sa.Addr[:], tc.dst)
					if err := unix.Sendto(fd, f, 0, sa); err != nil {
						t.Errorf("%s: sendto: %v", tc.name, err)
					}
				}
			})
			got := map[uint16]RecvInfo{}
			deadline := time.After(3 * time.Second)
			for len(got) < len(cases) {
				select {
				case r := <-c.ch:
					if r.seg.src == addrB4 && r.seg.dport == 80 {
						got[r.seg.sport] = r.info
					}
				case <-deadline:
					t.Fatalf("received %d of %d frames within 3s: %v", len(got), len(cases), got)
				}
			}
			for _, tc := range cases {
				g := got[tc.sport]
				g.Time, g.ChecksumNotReady, g.ChecksumValid, g.Truncated = time.Time{}, false, false, false
				if g != tc.want {
					t.Errorf("%s: RecvInfo %+v, want %+v", tc.name, g, tc.want)
				}
			}
		})
	}
}
