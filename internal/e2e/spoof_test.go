package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/wire"
)

// dropInbound makes the client's kernel drop TCP from the server's port,
// so every RST the client sends for that port on the wire is tcpprobe's
// own (AF_PACKET sees the frame before netfilter; lab-notes).
func dropInbound(t *testing.T, l *lab.Lab, sport uint16) {
	t.Helper()
	for _, args := range [][]string{
		{"nft", "add", "table", "inet", "tpt"},
		{"nft", "add", "chain", "inet", "tpt", "in", "{ type filter hook input priority 0; policy accept; }"},
		{"nft", "add", "rule", "inet", "tpt", "in", "tcp", "sport", fmt.Sprint(sport), "drop"},
	} {
		if out, err := l.Exec(l.Client, args...); err != nil {
			t.Fatalf("client firewall: %v\n%s", err, out)
		}
	}
}

// forgerReport is what the forger in the router saw and did.
type forgerReport struct {
	forged   []spoof.Forgery
	answered []uint32 // seq of the client's RSTs answering a wrong ACK
	err      error
}

// TestSpoofedRepliesIgnored plays a forger on the router's link to the
// client while tcpprobe waits on the lab's port 88 (its first SYN is
// dropped): it reads the SYN (ports, ISS) and injects every forgery of
// package spoof (issue 6, "Spoofing"). None may decide; each is listed in
// the JSON result as ignored with its reason (the ICMP quoting other ports
// names no probe and is in no result); the SYN-ACK with the wrong ACK is
// answered on the wire with <SEQ=SEG.ACK><RST> (spec §2.1); the real
// SYN-ACK to the retransmission decides "open".
func TestSpoofedRepliesIgnored(t *testing.T) {
	for _, fam := range []struct {
		name           string
		server, router netip.Addr
	}{
		{"ipv4", lab.ServerV4, lab.RouterV4C},
		{"ipv6", lab.ServerV6, lab.RouterV6C},
	} {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t)
			dropInbound(t, l, lab.PortDropFirst1)
			var tap *spoof.Tap
			if err := l.Do(l.Router, func() (err error) {
				tap, err = spoof.OpenTap(lab.RouterIfC)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tap.Close() })
			dst := netip.AddrPortFrom(fam.server, lab.PortDropFirst1)

			done := make(chan forgerReport, 1)
			go func() {
				var rep forgerReport
				defer func() { done <- rep }()
				syn, err := tap.WaitSYN(dst, time.Now().Add(5*time.Second))
				if err != nil {
					rep.err = err
					return
				}
				rep.forged = spoof.Forgeries(syn, fam.router)
				want := map[uint32]bool{}
				for _, f := range rep.forged {
					if f.AnswerSeq != nil {
						want[*f.AnswerSeq] = true
					}
					if err := tap.Inject(lab.ClientMAC, f.Packet); err != nil {
						rep.err = err
						return
					}
				}
				for len(rep.answered) < len(want) {
					seg, err := tap.WaitTCP(syn, time.Now().Add(2*time.Second), func(s wire.Segment) bool {
						return s.Flags == wire.RST && want[s.Seq]
					})
					if err != nil {
						rep.err = err
						return
					}
					rep.answered = append(rep.answered, seg.Seq)
				}
			}()

			res, r := probeJSON(t, l, 15*time.Second, "--schedule", "0,1s/3s", dst.String())
			rep := <-done
			if rep.err != nil {
				t.Fatalf("forger: %v", rep.err)
			}
			got := res[dst.String()]
			if got == nil {
				t.Fatalf("no result for %s\nstdout: %s\nstderr: %s", dst, r.stdout, r.stderr)
			}
			var wantWhy, gotWhy []string
			var wantRST, gotRST []uint32
			for _, f := range rep.forged {
				if f.Why != "" {
					wantWhy = append(wantWhy, f.Why)
				}
				if f.AnswerSeq != nil {
					wantRST = append(wantRST, *f.AnswerSeq)
				}
			}
			for _, e := range got.Events {
				switch e.Effect {
				case "ignored":
					gotWhy = append(gotWhy, e.Why)
				case "answer":
					if e.Seq != nil {
						gotRST = append(gotRST, *e.Seq)
					}
				}
			}
			if diff := cmp.Diff(wantWhy, gotWhy); diff != "" {
				t.Errorf("ignored events (-want +got)\n%s\nevents: %+v", diff, got.Events)
			}
			if diff := cmp.Diff(wantRST, gotRST); diff != "" {
				t.Errorf("answer RSTs in the result (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(wantRST, rep.answered); diff != "" {
				t.Errorf("answer RSTs on the wire (-want +got)\n%s", diff)
			}
			type verdict struct {
				Outcome, Reason, Responder string
				Attempts, Ignored, Exit    int
			}
			want := verdict{"open", "syn-ack", fam.server.String(), 2, len(wantWhy), 0}
			if diff := cmp.Diff(want, verdict{got.Outcome, got.Reason, got.Responder, len(got.Attempts), got.Ignored, r.exit}); diff != "" {
				t.Errorf("verdict (-want +got)\n%s", diff)
			}
		})
	}
}
