package e2e

import (
	"bytes"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rx"
	"github.com/tcpprobe/tcpprobe/wire"
)

// offFrame is a forged frame due at a time.
type offFrame struct {
	at   time.Time
	b    []byte
	info rx.FrameInfo
}

// TestForgedCasesThroughReceivePath runs every forged case of the suite,
// without a lab or privilege, through the receive pipeline (rx) and a
// linux-profile Machine on a made-up clock, the SYNs encoded as the engine
// encodes them, and requires the verdict the kernel's connect() gave for
// the case (recorded in the table, checked live by
// TestForgedRepliesMatchKernel). It pins the pure half of the receive
// path to the kernel, case by case, in well under a second.
func TestForgedCasesThroughReceivePath(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	compared := 0
	seen := map[string]int{}
	defer func() {
		t.Logf("%d case/family pairs, verdicts %v", compared, seen)
		if compared == 0 {
			t.Error("no case compared")
		}
	}()
	for i, c := range forgedCases {
		for _, v6 := range []bool{false, true} {
			want := c.v4
			if v6 {
				want = c.v6
			}
			if want == "" {
				continue
			}
			local := netip.AddrPortFrom(lab.ClientV4, 40000)
			if v6 {
				local = netip.AddrPortFrom(lab.ClientV6, 40000)
			}
			remote := netip.AddrPortFrom(forgedTarget(v6), forgedBasePort+uint16(i))
			prof := probe.Linux(6, 4)
			prof.Schedule = prof.Schedule.Cut(2 * time.Second)
			iss := uint32(0x10000000 + i)
			m := probe.NewMachine(prof, local, remote, iss)
			m.SetOptions(probe.MachineOptions{Timestamps: true})
			p := rx.NewPipeline(rx.DefaultConfig())
			var q []offFrame
			n := 0
			synsTo := func(now time.Time, out probe.Output) {
				if !out.SendSYN || out.ACK {
					return
				}
				spec := wire.SegmentSpec{Src: local.Addr(), Dst: remote.Addr(), SrcPort: local.Port(), DstPort: remote.Port(), Seq: iss, Flags: wire.SYN, Window: 64240,
					Options: wire.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: out.TSVal, HasWScale: true, WScale: 7}}
				buf := make([]byte, wire.MaxSegmentLen)
				k, err := wire.EncodeSegment(buf, &spec)
				if err != nil {
					t.Fatal(err)
				}
				s, err := spoof.ParseSYN(buf[:k])
				if err != nil {
					t.Fatal(err)
				}
				n++
				for _, snd := range c.answer(kit{s: s, n: n}) {
					info := rx.FrameInfo{PktType: rx.PacketHost}
					switch {
					case snd.DstMAC == nil:
					case bytes.Equal(snd.DstMAC, broadcastMAC):
						info.PktType = rx.PacketBroadcast
					default:
						info.PktType = rx.PacketOtherHost
					}
					if snd.VLAN != 0 {
						info.VLANTagged, info.VLANID = true, snd.VLAN
					}
					rep := max(1, snd.Repeat)
					if rep > 1000 {
						rep = 1000
					}
					for range rep {
						q = append(q, offFrame{now.Add(snd.After), snd.Packet, info})
					}
				}
				sort.SliceStable(q, func(a, b int) bool { return q[a].at.Before(q[b].at) })
			}
			synsTo(t0, m.Start(t0))
			var pkt rx.Packet
			tuple := rx.Tuple{Local: local.Addr(), Remote: remote.Addr(), LocalPort: local.Port(), RemotePort: remote.Port()}
			for steps := 0; !m.Done() && steps < 10000; steps++ {
				dl := m.Deadline()
				if len(q) > 0 && !q[0].at.After(dl) {
					f := q[0]
					q = q[1:]
					d, ok := p.Input(f.b, f.info, f.at, &pkt)
					switch {
					case ok && pkt.Tuple == tuple:
						var out probe.Output
						if pkt.Kind == rx.KindTCP {
							seg := pkt.Seg
							out = m.HandleTCP(probe.TCPInfo{Seg: &seg, From: pkt.From, TTL: pkt.TTL, ChecksumOK: true}, f.at)
						} else {
							msg := pkt.Msg
							out = m.HandleICMP(probe.ICMPInfo{Msg: &msg, From: pkt.From, TTL: pkt.TTL, ChecksumOK: true}, f.at)
						}
						synsTo(f.at, out)
					case !ok && pkt.HasTuple && pkt.Tuple == tuple:
						m.Dropped(d.String(), pkt.From, pkt.TTL, pkt.Kind == rx.KindICMP, f.at)
					}
					continue
				}
				synsTo(dl, m.Tick(dl))
			}
			r := m.Result()
			got := "timeout"
			switch r.Outcome {
			case probe.Open:
				got = "open"
			case probe.Timeout:
			default:
				got = probe.ErrnoName(r.Errno)
			}
			fam := "v4"
			if v6 {
				fam = "v6"
			}
			compared++
			seen[got]++
			if got != want {
				var whys []string
				for _, e := range r.Events {
					if e.Why != "" {
						whys = append(whys, e.Why)
					}
				}
				t.Errorf("%-28s %s: got %s, kernel %s  (%s) ignored: %v", c.name, fam, got, want, c.what, whys)
			}
		}
	}
}
