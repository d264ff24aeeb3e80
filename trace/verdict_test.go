package trace

import (
	"net/netip"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	hop1 = netip.MustParseAddr("198.18.40.1")
	hop2 = netip.MustParseAddr("198.18.41.2")
	dst  = netip.MustParseAddr("198.18.44.2")
)

// q builds a query answered by from with kind k (none when k is "").
func q(k string, from netip.Addr) Query {
	if k == "" {
		return Query{Kind: KindNone}
	}
	return Query{Kind: k, From: from}
}

func hops(rows ...[]Query) []Hop {
	var out []Hop
	for i, r := range rows {
		out = append(out, Hop{TTL: i + 1, Queries: r})
	}
	return out
}

func TestDecide(t *testing.T) {
	te := KindTimeExceeded
	unreach := func(from netip.Addr, errno syscall.Errno, reason string) Query {
		return Query{Kind: KindUnreachable, From: from, Errno: errno, Reason: reason}
	}
	none := []Query{q("", netip.Addr{}), q("", netip.Addr{})}
	tests := []struct {
		name      string
		hops      []Hop
		line      string
		outcome   string
		hop       int
		last      int
		diesAfter netip.Addr
	}{
		{"open", hops([]Query{q(te, hop1)}, []Query{q(te, hop2)}, []Query{q("", netip.Addr{}), q(KindSYNACK, dst)}),
			"open at hop 3", "open", 3, 3, netip.Addr{}},
		{"refused", hops([]Query{q(te, hop1)}, []Query{q(KindRST, dst)}),
			"refused by 198.18.44.2 at hop 2", "refused", 2, 2, netip.Addr{}},
		{"reject after a time exceeded names the router's hop", hops([]Query{q(te, hop1)}, []Query{q(te, hop2)},
			[]Query{unreach(hop2, syscall.EHOSTUNREACH, "icmp-admin-prohibited")}),
			"rejected by 198.18.41.2 (hop 2): admin-prohibited", "unreachable", 2, 3, netip.Addr{}},
		{"route unreachable", hops([]Query{q(te, hop1)}, []Query{unreach(hop2, syscall.ENETUNREACH, "icmp6-no-route")}),
			"rejected by 198.18.41.2 (hop 2): no-route", "unreachable", 2, 2, netip.Addr{}},
		{"port unreachable from the destination", hops([]Query{unreach(dst, syscall.ECONNREFUSED, "icmp-port-unreachable")}),
			"refused by 198.18.44.2 at hop 1: port-unreachable", "refused", 1, 1, netip.Addr{}},
		{"dies", hops([]Query{q(te, hop1)}, []Query{q("", netip.Addr{}), q(te, hop2)}, none, none, none),
			"the SYN dies after 198.18.41.2 (hop 2): hops 3–5 silent", "timeout", 2, 2, hop2},
		{"nothing answers", hops(none, none),
			"no hop answered: hops 1–2 silent", "timeout", 0, 0, netip.Addr{}},
		{"max hops", hops([]Query{q(te, hop1)}, []Query{q(te, hop2)}),
			"no answer from 198.18.44.2 within 2 hops (last: 198.18.41.2 at hop 2)", "timeout", 2, 2, hop2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Dst: dst, Hops: tt.hops}
			decide(r)
			got := []any{r.Verdict.Line, r.Verdict.Outcome, r.Verdict.Hop, r.LastResponding, r.DiesAfter}
			want := []any{tt.line, tt.outcome, tt.hop, tt.last, tt.diesAfter}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHopsFromTTL(t *testing.T) {
	for ttl, want := range map[uint8]int{64: 1, 60: 5, 128: 1, 120: 9, 255: 1, 250: 6, 30: 3} {
		if got := hopsFromTTL(ttl); got != want {
			t.Errorf("hopsFromTTL(%d) = %d, want %d", ttl, got, want)
		}
	}
}
