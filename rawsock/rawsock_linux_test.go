package rawsock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/wire"
	"golang.org/x/sys/unix"
)

var (
	addrA4 = netip.MustParseAddr("198.18.200.1")
	addrB4 = netip.MustParseAddr("198.18.200.2")
	addrA6 = netip.MustParseAddr("fd00:200::1")
	addrB6 = netip.MustParseAddr("fd00:200::2")
	lo4    = netip.MustParseAddr("127.0.0.1")
	lo6    = netip.MustParseAddr("::1")
)

// synPacket builds an IP packet carrying a TCP SYN with an MSS option, both
// checksums set, into a fresh buffer.
func synPacket(src, dst netip.Addr, sport, dport uint16, iss uint32) []byte {
	tcp := make([]byte, 24)
	binary.BigEndian.PutUint16(tcp[0:], sport)  // source port
	binary.BigEndian.PutUint16(tcp[2:], dport)  // destination port
	binary.BigEndian.PutUint32(tcp[4:], iss)    // sequence number
	tcp[12] = 6 << 4                            // data offset: 6 words
	tcp[13] = 0x02                              // flags: SYN
	binary.BigEndian.PutUint16(tcp[14:], 64240) // window
	copy(tcp[20:], []byte{2, 4, 0x05, 0xb4})    // MSS 1460
	sum := wire.Fold(wire.Sum(tcp, wire.PseudoHeaderSum(src, dst, 6, len(tcp))))
	binary.BigEndian.PutUint16(tcp[16:], sum)
	if src.Is4() {
		ip := make([]byte, 20, 20+len(tcp))
		ip[0] = 0x45                                            // version 4, IHL 5
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp))) // total length
		ip[6] = 0x40                                            // DF
		ip[8] = 64                                              // TTL
		ip[9] = 6                                               // TCP
		s, d := src.As4(), dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], wire.Fold(wire.Sum(ip, 0)))
		return append(ip, tcp...)
	}
	ip := make([]byte, 40, 40+len(tcp))
	ip[0] = 0x60                                         // version 6
	binary.BigEndian.PutUint16(ip[4:], uint16(len(tcp))) // payload length
	ip[6] = 6                                            // next header: TCP
	ip[7] = 64                                           // hop limit
	s, d := src.As16(), dst.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	return append(ip, tcp...)
}

// segment is what the tests read back from a received TCP packet.
type segment struct {
	src, dst     netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        byte
	csumOK       bool
}

func parseSegment(p []byte) (segment, bool) {
	var s segment
	var tcp []byte
	switch {
	case len(p) >= 20 && p[0]>>4 == 4 && p[9] == 6:
		hl := int(p[0]&0xf) * 4
		if len(p) < hl+20 {
			return s, false
		}
		s.src = netip.AddrFrom4([4]byte(p[12:16]))
		s.dst = netip.AddrFrom4([4]byte(p[16:20]))
		tcp = p[hl:]
	case len(p) >= 60 && p[0]>>4 == 6 && p[6] == 6:
		s.src = netip.AddrFrom16([16]byte(p[8:24]))
		s.dst = netip.AddrFrom16([16]byte(p[24:40]))
		tcp = p[40:]
	default:
		return s, false
	}
	s.sport = binary.BigEndian.Uint16(tcp[0:])
	s.dport = binary.BigEndian.Uint16(tcp[2:])
	s.seq = binary.BigEndian.Uint32(tcp[4:])
	s.ack = binary.BigEndian.Uint32(tcp[8:])
	s.flags = tcp[13]
	s.csumOK = wire.Valid(tcp, wire.PseudoHeaderSum(s.src, s.dst, 6, len(tcp)))
	return s, true
}

func TestRouteTo(t *testing.T) {
	n := newTestNet(t)
	type want struct {
		Src, Gateway, NextHop netip.Addr
		Iface                 string
		Local                 bool
		Errno                 syscall.Errno
	}
	mp := netip.MustParseAddr
	tests := []struct {
		name string
		dst  netip.Addr
		opt  RouteOptions
		want want
	}{
		{"v4 on-link", addrB4, RouteOptions{}, want{Src: addrA4, NextHop: addrB4, Iface: "a0"}},
		{"v4 on-link oif+src", addrB4, RouteOptions{Interface: "a0", Source: addrA4}, want{Src: addrA4, NextHop: addrB4, Iface: "a0"}},
		{"v4 via gateway", mp("198.18.200.177"), RouteOptions{}, want{Src: addrA4, Gateway: addrB4, NextHop: addrB4, Iface: "a0"}},
		{"v4 local", addrA4, RouteOptions{}, want{Src: addrA4, NextHop: addrA4, Iface: "lo", Local: true}},
		{"v4 loopback", lo4, RouteOptions{}, want{Src: lo4, NextHop: lo4, Iface: "lo", Local: true}},
		{"v4 unreachable", mp("198.18.200.129"), RouteOptions{}, want{Errno: syscall.EHOSTUNREACH}},
		{"v4 prohibit", mp("198.18.200.145"), RouteOptions{}, want{Errno: syscall.EACCES}},
		{"v4 blackhole", mp("198.18.200.161"), RouteOptions{}, want{Errno: syscall.EINVAL}},
		{"v4 no route", mp("198.18.200.241"), RouteOptions{}, want{Errno: syscall.ENETUNREACH}},
		{"v4 broadcast", mp("198.18.200.127"), RouteOptions{}, want{Errno: syscall.ENETUNREACH}},
		{"v6 on-link", addrB6, RouteOptions{}, want{Src: addrA6, NextHop: addrB6, Iface: "a0"}},
		{"v6 via gateway", mp("fd00:200::8004:0:0:1"), RouteOptions{}, want{Src: addrA6, Gateway: addrB6, NextHop: addrB6, Iface: "a0"}},
		{"v6 local", addrA6, RouteOptions{}, want{Src: addrA6, NextHop: addrA6, Iface: "lo", Local: true}},
		{"v6 loopback", lo6, RouteOptions{}, want{Src: lo6, NextHop: lo6, Iface: "lo", Local: true}},
		{"v6 unreachable", mp("fd00:200::8001:0:0:1"), RouteOptions{}, want{Errno: syscall.EHOSTUNREACH}},
		{"v6 prohibit", mp("fd00:200::8002:0:0:1"), RouteOptions{}, want{Errno: syscall.EACCES}},
		{"v6 blackhole", mp("fd00:200::8003:0:0:1"), RouteOptions{}, want{Errno: syscall.EINVAL}},
		{"v6 no route", mp("fd00:200::8005:0:0:1"), RouteOptions{}, want{Errno: syscall.ENETUNREACH}},
		{"v6 multicast", mp("ff02::1"), RouteOptions{}, want{Errno: syscall.ENETUNREACH}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in(t, n.a, func() {
				r, err := RouteTo(tc.dst, tc.opt)
				var got want
				if err != nil {
					var re *RouteError
					if !errors.As(err, &re) {
						t.Fatalf("RouteTo(%s) = %v, not a *RouteError", tc.dst, err)
					}
					if !errors.Is(err, re.Errno) || re.Dst != tc.dst {
						t.Errorf("RouteError %+v does not unwrap to its errno or names the wrong destination", re)
					}
					got.Errno = re.Errno
					t.Logf("%s: %v", tc.dst, err)
				} else {
					got = want{Src: r.Src, Gateway: r.Gateway, NextHop: r.NextHop, Iface: r.Interface.Name, Local: r.Local}
					if r.Dst != tc.dst {
						t.Errorf("Dst = %s, want %s", r.Dst, tc.dst)
					}
				}
				if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Errorf("RouteTo(%s) (-want +got):\n%s", tc.dst, diff)
				}
			})
		})
	}
}

func TestResolveNeighbor(t *testing.T) {
	n := newTestNet(t)
	run(t, "ip", "-n", n.nameA, "neigh", "add", "198.18.200.50", "lladdr", "02:00:00:c8:00:50", "dev", "a0", "nud", "permanent")
	run(t, "ip", "-n", n.nameA, "neigh", "add", "fd00:200::50", "lladdr", "02:00:00:c8:00:56", "dev", "a0", "nud", "permanent")
	tests := []struct {
		name     string
		dst      netip.Addr
		want     net.HardwareAddr
		wantErr  error
		minTime  time.Duration
		maxTime  time.Duration
		flushNbr bool
	}{
		{name: "v4 known", dst: netip.MustParseAddr("198.18.200.50"), want: net.HardwareAddr{2, 0, 0, 0xc8, 0, 0x50}, maxTime: 100 * time.Millisecond},
		{name: "v6 known", dst: netip.MustParseAddr("fd00:200::50"), want: net.HardwareAddr{2, 0, 0, 0xc8, 0, 0x56}, maxTime: 100 * time.Millisecond},
		{name: "v4 unknown, answers", dst: addrB4, want: macB, maxTime: 250 * time.Millisecond, flushNbr: true},
		{name: "v6 unknown, answers", dst: addrB6, want: macB, maxTime: 250 * time.Millisecond, flushNbr: true},
		{name: "v4 silent", dst: netip.MustParseAddr("198.18.200.99"), wantErr: syscall.EHOSTUNREACH, minTime: 590 * time.Millisecond, maxTime: 900 * time.Millisecond},
		{name: "v6 silent", dst: netip.MustParseAddr("fd00:200::99"), wantErr: syscall.EHOSTUNREACH, minTime: 590 * time.Millisecond, maxTime: 900 * time.Millisecond},
		{name: "loopback", dst: lo4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in(t, n.a, func() {
				if tc.flushNbr {
					run(t, "ip", "-n", n.nameA, "neigh", "flush", "dev", "a0", "to", tc.dst.String())
				}
				r, err := RouteTo(tc.dst, RouteOptions{})
				if err != nil {
					t.Fatalf("RouteTo: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				start := time.Now()
				hw, err := ResolveNeighbor(ctx, r, 3, 200*time.Millisecond)
				took := time.Since(start)
				t.Logf("%s: %v, %v in %v", tc.dst, hw, err, took)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if diff := cmp.Diff(tc.want.String(), hw.String()); diff != "" {
					t.Errorf("hardware address (-want +got):\n%s", diff)
				}
				if took < tc.minTime || (tc.maxTime > 0 && took > tc.maxTime) {
					t.Errorf("took %v, want between %v and %v", took, tc.minTime, tc.maxTime)
				}
			})
		})
	}
	t.Run("ctx bounds it", func(t *testing.T) {
		in(t, n.a, func() {
			r, err := RouteTo(netip.MustParseAddr("198.18.200.98"), RouteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = ResolveNeighbor(ctx, r, 3, time.Second)
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 500*time.Millisecond {
				t.Errorf("err = %v after %v, want the context's deadline at ≈150ms", err, time.Since(start))
			}
		})
	})
}

// openLink opens a Link on the named interface inside ns.
func openLink(t testing.TB, n *testNet, name string, cfg LinkConfig) *Link {
	t.Helper()
	var l *Link
	in(t, n.a, func() {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			t.Errorf("interface %s: %v", name, err)
			return
		}
		l, err = Open(ifi, cfg)
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("skipping: %v", err)
		}
		if err != nil {
			t.Errorf("Open(%s): %v", name, err)
		}
	})
	t.Cleanup(func() { l.Close() })
	return l
}

// listen starts a TCP listener inside ns on addr:port.
func listen(t testing.TB, n *testNet, inB bool, addr netip.Addr, port uint16) {
	t.Helper()
	h := n.a
	if inB {
		h = n.b
	}
	in(t, h, func() {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, port).String())
		if err != nil {
			t.Errorf("listen: %v", err)
			return
		}
		t.Cleanup(func() { ln.Close() })
	})
}

// collector runs Receive in the background and hands each TCP segment to ch.
type collector struct {
	ch     chan received
	cancel context.CancelFunc
	done   chan error
}

type received struct {
	seg  segment
	info RecvInfo
}

func collect(t testing.TB, l *Link) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{ch: make(chan received, 64), cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- l.Receive(ctx, func(p []byte, info RecvInfo) {
			if s, ok := parseSegment(p); ok {
				select {
				case c.ch <- received{s, info}:
				default:
				}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("Receive returned %v after cancel, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("Receive did not return within 2s of cancel")
		}
	})
	return c
}

// waitSynAck waits for the SYN-ACK answering a SYN from src:sport with iss.
func (c *collector) waitSynAck(t testing.TB, src netip.Addr, sport uint16, iss uint32, seen func(received)) received {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case r := <-c.ch:
			if seen != nil {
				seen(r)
			}
			if r.seg.dst == src && r.seg.dport == sport && r.seg.flags == 0x12 && r.seg.ack == iss+1 {
				return r
			}
		case <-timeout:
			t.Fatalf("no SYN-ACK for %s:%d within 3s", src, sport)
		}
	}
}

func TestLinkSYN(t *testing.T) {
	for _, queue := range []bool{false, true} {
		name := map[bool]string{false: "ring", true: "socket-queue"}[queue]
		t.Run(name, func(t *testing.T) { testLinkSYN(t, queue) })
	}
}

// testLinkSYN sends a SYN per family and reads the SYN-ACK through a
// receive ring, or through the socket queue when queue is set.
func testLinkSYN(t *testing.T, queue bool) {
	n := newTestNet(t)
	listen(t, n, true, addrB4, 80)
	listen(t, n, true, addrB6, 80)
	l := openLink(t, n, "a0", LinkConfig{Addrs: []netip.Addr{addrA4, addrA6}, SocketQueue: queue})
	if hasRing := l.ring != nil; hasRing == queue {
		t.Fatalf("SocketQueue %v: link has a ring: %v", queue, hasRing)
	}
	if diff := cmp.Diff("a0", l.Interface().Name); diff != "" {
		t.Errorf("Interface (-want +got):\n%s", diff)
	}
	c := collect(t, l)
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
	}{
		{"IPv4", addrA4, addrB4},
		{"IPv6", addrA6, addrB6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mac net.HardwareAddr
			var sport uint16
			in(t, n.a, func() {
				r, err := RouteTo(tc.dst, RouteOptions{})
				if err != nil {
					t.Errorf("RouteTo: %v", err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if mac, err = ResolveNeighbor(ctx, r, 3, 200*time.Millisecond); err != nil {
					t.Errorf("ResolveNeighbor: %v", err)
					return
				}
				var release func()
				if sport, release, err = ReservePort(tc.src); err != nil {
					t.Errorf("ReservePort: %v", err)
					return
				}
				t.Cleanup(release)
			})
			iss := uint32(0xfffffff0) // ACK wraps: iss+1 is computed mod 2^32
			before := time.Now()
			if err := l.WriteIP(synPacket(tc.src, tc.dst, sport, 80, iss), mac); err != nil {
				t.Fatalf("WriteIP: %v", err)
			}
			r := c.waitSynAck(t, tc.src, sport, iss, func(r received) {
				if r.seg.src == tc.src {
					t.Errorf("received our own outgoing segment %+v", r.seg)
				}
			})
			after := time.Now()
			t.Logf("SYN-ACK %s:%d → %s:%d ChecksumNotReady=%v ChecksumValid=%v checksum-ok=%v time=%v (write→now %v)",
				r.seg.src, r.seg.sport, r.seg.dst, r.seg.dport, r.info.ChecksumNotReady, r.info.ChecksumValid, r.seg.csumOK,
				r.info.Time.Sub(before), after.Sub(before))
			if !r.info.ChecksumNotReady && !r.seg.csumOK {
				t.Errorf("checksum wrong and the kernel did not say TP_STATUS_CSUMNOTREADY")
			}
			if r.info.Time.Before(before) || r.info.Time.After(after) {
				t.Errorf("receive time %v not between the write (%v) and now (%v): not a kernel timestamp?", r.info.Time, before, after)
			}
		})
	}
	st, err := l.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	t.Logf("stats: %+v", st)
	if st.Received < 2 {
		t.Errorf("Stats().Received = %d, want ≥ 2", st.Received)
	}
	st2, _ := l.Stats()
	if st2.Received < st.Received {
		t.Errorf("Stats went backwards: %+v then %+v (must accumulate)", st, st2)
	}
}

// TestLinkRejectsOutgoing proves the BPF program's pkttype check on its own:
// the link's filter includes the peer's address (so our SYN to it would pass
// the address check) and PACKET_IGNORE_OUTGOING is left unset.
func TestLinkRejectsOutgoing(t *testing.T) {
	n := newTestNet(t)
	listen(t, n, true, addrB4, 80)
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepOutgoing=%v", keep), func(t *testing.T) {
			l := openLink(t, n, "a0", LinkConfig{Addrs: []netip.Addr{addrA4, addrB4}, keepOutgoing: keep})
			c := collect(t, l)
			var sport uint16
			in(t, n.a, func() {
				var release func()
				var err error
				sport, release, err = ReservePort(addrA4)
				if err != nil {
					t.Errorf("ReservePort: %v", err)
					return
				}
				t.Cleanup(release)
			})
			if err := l.WriteIP(synPacket(addrA4, addrB4, sport, 80, 1), macB); err != nil {
				t.Fatalf("WriteIP: %v", err)
			}
			c.waitSynAck(t, addrA4, sport, 1, func(r received) {
				if r.seg.dst == addrB4 {
					t.Errorf("our own outgoing SYN was delivered: %+v", r.seg)
				}
			})
		})
	}
}

func TestLinkLoopback(t *testing.T) {
	n := newTestNet(t)
	in(t, n.a, func() {
		for _, a := range []netip.Addr{lo4, addrA4} {
			if err := CheckLoopback(a); err == nil {
				t.Errorf("CheckLoopback(%s) = nil with accept_local off, want an error", a)
			} else {
				t.Logf("before: %v", err)
			}
		}
		if err := CheckLoopback(lo6); err != nil {
			t.Errorf("CheckLoopback(::1) = %v, want nil", err)
		}
	})
	run(t, "ip", "netns", "exec", n.nameA, "sysctl", "-qw", "net.ipv4.conf.lo.accept_local=1", "net.ipv4.conf.lo.route_localnet=1")
	in(t, n.a, func() {
		if err := CheckLoopback(lo4); err != nil {
			t.Errorf("CheckLoopback(127.0.0.1) after the sysctls = %v, want nil", err)
		}
	})
	listen(t, n, false, lo4, 8080)
	listen(t, n, false, lo6, 8080)
	l := openLink(t, n, "lo", LinkConfig{Addrs: []netip.Addr{lo4, lo6}})
	c := collect(t, l)
	for i, a := range []netip.Addr{lo4, lo6} {
		t.Run(a.String(), func(t *testing.T) {
			sport := uint16(20000 + i)
			iss := uint32(1000 + i)
			if err := l.WriteIP(synPacket(a, a, sport, 8080, iss), nil); err != nil {
				t.Fatalf("WriteIP: %v", err)
			}
			r := c.waitSynAck(t, a, sport, iss, nil)
			t.Logf("loopback SYN-ACK: ChecksumNotReady=%v checksum-ok=%v", r.info.ChecksumNotReady, r.seg.csumOK)
		})
	}
}

func TestLinkWriteIPAllocs(t *testing.T) {
	n := newTestNet(t)
	l := openLink(t, n, "lo", LinkConfig{Addrs: []netip.Addr{lo4}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got atomic.Int64
	ch := make(chan struct{}, 16)
	go l.Receive(ctx, func(p []byte, info RecvInfo) {
		got.Add(1)
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	// A SYN to a closed port: we see it arrive on lo, and the kernel's RST.
	pkt := synPacket(lo4, lo4, 20100, 9, 7)
	w := testing.AllocsPerRun(1000, func() {
		if err := l.WriteIP(pkt, nil); err != nil {
			t.Fatal(err)
		}
	})
	if w != 0 {
		t.Errorf("WriteIP allocates %v times per packet, want 0", w)
	}
	for len(ch) > 0 {
		<-ch
	}
	timer := time.NewTimer(time.Hour)
	allocs := testing.AllocsPerRun(200, func() {
		if err := l.WriteIP(pkt, nil); err != nil {
			t.Fatal(err)
		}
		timer.Reset(time.Second)
		select {
		case <-ch:
		case <-timer.C:
			t.Fatal("nothing received within 1s")
		}
	})
	t.Logf("WriteIP + Receive round trip: %v allocs, %d packets received", allocs, got.Load())
	if allocs != 0 {
		t.Errorf("WriteIP + Receive allocate %v times per packet, want 0", allocs)
	}
}

func TestReservePort(t *testing.T) {
	n := newTestNet(t)
	in(t, n.a, func() {
		b, err := os.ReadFile(portRangeFile)
		if err != nil {
			t.Errorf("read %s: %v", portRangeFile, err)
			return
		}
		eph, err := parsePortRange(string(b))
		if err != nil {
			t.Error(err)
			return
		}
		held := map[uint16]bool{}
		for i := range 200 {
			p, release, err := ReservePort(addrA4)
			if err != nil {
				t.Errorf("ReservePort #%d: %v", i, err)
				return
			}
			defer release()
			if int(p) < 1024 || (int(p) >= eph.lo && int(p) <= eph.hi) {
				t.Errorf("port %d is inside the ephemeral range %d–%d or below 1024", p, eph.lo, eph.hi)
			}
			if held[p] {
				t.Errorf("port %d handed out twice while held", p)
			}
			held[p] = true
		}
		// A held port cannot be bound by anyone else; released, it can.
		p, release, err := ReservePort(addrA4)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := net.Listen("tcp", netip.AddrPortFrom(addrA4, p).String()); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listen on held port %d: %v, want EADDRINUSE", p, err)
		}
		release()
		release() // idempotent
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addrA4, p).String())
		if err != nil {
			t.Errorf("listen on released port %d: %v", p, err)
		} else {
			// A port someone listens on is never handed out: narrow the
			// candidates to that one port and one other.
			defer ln.Close()
		}
	})
	t.Run("exhaustion", func(t *testing.T) {
		// Leave only 1024–1033 outside the ephemeral range (per-namespace sysctl).
		run(t, "ip", "netns", "exec", n.nameA, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1034 65535")
		in(t, n.a, func() {
			ln, err := net.Listen("tcp", "198.18.200.1:1030")
			if err != nil {
				t.Errorf("listen: %v", err)
				return
			}
			defer ln.Close()
			held := map[uint16]bool{}
			for i := range 9 {
				p, release, err := ReservePort(addrA4)
				if err != nil {
					t.Errorf("ReservePort #%d of 9 free ports: %v", i, err)
					return
				}
				defer release()
				if p < 1024 || p > 1033 || p == 1030 || held[p] {
					t.Errorf("ReservePort #%d = %d: outside 1024–1033, the listener's, or already held", i, p)
				}
				held[p] = true
			}
			if p, _, err := ReservePort(addrA4); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("ReservePort with every candidate taken = %d, %v; want an EADDRINUSE error", p, err)
			} else {
				t.Logf("exhausted: %v", err)
			}
		})
	})
}

// BenchmarkWriteIP sends IPv4 SYNs to a closed port of the peer over the veth
// pair and reports packets per second.
func BenchmarkWriteIP(b *testing.B) {
	n := newTestNet(b)
	l := openLink(b, n, "a0", LinkConfig{Addrs: []netip.Addr{addrA4}})
	pkt := synPacket(addrA4, addrB4, 20200, 81, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if err := l.WriteIP(pkt, macB); err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				continue
			}
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
}

func TestOpenErrors(t *testing.T) {
	n := newTestNet(t)
	in(t, n.a, func() {
		ifi, err := net.InterfaceByName("a0")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := Open(ifi, LinkConfig{}); err == nil || !strings.Contains(err.Error(), "LinkConfig.Addrs") {
			t.Errorf("Open without addresses: %v, want an error naming LinkConfig.Addrs", err)
		}
	})
}
