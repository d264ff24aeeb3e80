package trace

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	for _, g := range goldens(t) {
		t.Run(g.name, func(t *testing.T) {
			f := goldenFlow(t, g.v6)
			rep, err := classify(g.pkt, false, f)
			switch {
			case g.kind == "" && g.why == "":
				if !errors.Is(err, errNotOurs) {
					t.Fatalf("classify: %+v, %v; want errNotOurs", rep, err)
				}
				return
			case g.why != "":
				if err == nil || err.Error() != g.why {
					t.Fatalf("classify: %+v, %v; want ignored as %q", rep, err, g.why)
				}
			case err != nil:
				t.Fatalf("classify: %v; want %s", err, g.kind)
			default:
				if rep.kind != g.kind || rep.seq != g.seq || len(rep.mpls) != g.mpls {
					t.Errorf("got kind %s seq %d mpls %v; want %s %d %d labels", rep.kind, rep.seq, rep.mpls, g.kind, g.seq, g.mpls)
				}
				if diff := cmp.Diff(g.rewritten, rep.rewritten); diff != "" {
					t.Errorf("rewritten fields (-want +got):\n%s", diff)
				}
			}
			if rep.sendRST != g.sendRST {
				t.Errorf("sendRST %v, want %v", rep.sendRST, g.sendRST)
			}
		})
	}
}

func TestClassifyMPLSLabels(t *testing.T) {
	for _, g := range goldens(t) {
		if g.mpls == 0 {
			continue
		}
		rep, err := classify(g.pkt, false, goldenFlow(t, g.v6))
		if err != nil {
			t.Fatal(err)
		}
		want := []Label{{Label: 16001, TTL: 1}, {Label: 24, TC: 5, S: true, TTL: 1}}
		if diff := cmp.Diff(want, rep.mpls); diff != "" {
			t.Errorf("%s: labels (-want +got):\n%s", g.name, diff)
		}
	}
}

func TestClassifyBadChecksum(t *testing.T) {
	for _, g := range goldens(t) {
		if g.kind == "" {
			continue
		}
		pkt := append([]byte(nil), g.pkt...)
		pkt[len(pkt)-1] ^= 0xff
		if _, err := classify(pkt, false, goldenFlow(t, g.v6)); err == nil || err.Error() != whyBadChecksum {
			t.Errorf("%s with a flipped last byte: %v, want %s", g.name, err, whyBadChecksum)
		}
	}
}
