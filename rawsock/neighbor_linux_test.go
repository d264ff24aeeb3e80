package rawsock

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// TestResolveNeighborTrace checks the record of a resolution: how many
// solicitations left, when, and whether one was answered, also when the
// caller's deadline cuts the resolution short.
func TestResolveNeighborTrace(t *testing.T) {
	n := newTestNet(t)
	run(t, "ip", "-n", n.nameA, "neigh", "add", "198.18.200.51", "lladdr", "02:00:00:c8:00:51", "dev", "a0", "nud", "permanent")
	const iv = 100 * time.Millisecond
	tests := []struct {
		name       string
		dst        netip.Addr
		tries      int
		deadline   time.Duration
		flush      bool
		fromTable  bool
		sent       int
		unanswered int
		wantErr    error
	}{
		{name: "table", dst: netip.MustParseAddr("198.18.200.51"), tries: 3, fromTable: true},
		{name: "v4 answered", dst: addrB4, tries: 3, flush: true, sent: 1},
		{name: "v6 answered", dst: addrB6, tries: 3, flush: true, sent: 1},
		{name: "v4 silent", dst: netip.MustParseAddr("198.18.200.97"), tries: 3, sent: 3, unanswered: 3, wantErr: syscall.EHOSTUNREACH},
		{name: "v6 silent", dst: netip.MustParseAddr("fd00:200::97"), tries: 2, sent: 2, unanswered: 2, wantErr: syscall.EHOSTUNREACH},
		{name: "v4 cut by deadline", dst: netip.MustParseAddr("198.18.200.96"), tries: 3, deadline: 150 * time.Millisecond, sent: 2, unanswered: 2, wantErr: context.DeadlineExceeded},
		{name: "v6 cut by deadline", dst: netip.MustParseAddr("fd00:200::96"), tries: 3, deadline: 50 * time.Millisecond, sent: 1, unanswered: 1, wantErr: context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in(t, n.a, func() {
				if tc.flush {
					run(t, "ip", "-n", n.nameA, "neigh", "flush", "dev", "a0", "to", tc.dst.String())
				}
				r, err := RouteTo(tc.dst, RouteOptions{})
				if err != nil {
					t.Fatalf("RouteTo: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if tc.deadline > 0 {
					cancel()
					ctx, cancel = context.WithTimeout(context.Background(), tc.deadline)
				}
				defer cancel()
				start := time.Now()
				nb, err := ResolveNeighborTrace(ctx, r, tc.tries, iv)
				took := time.Since(start)
				t.Logf("%s: %+v, %v in %v", tc.dst, nb, err, took)
				if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr != nil {
					var ne *NeighborError
					if !errors.As(err, &ne) {
						t.Fatalf("err %T is not a *NeighborError", err)
					}
					if len(ne.Neighbor.Sent) != tc.sent {
						t.Errorf("NeighborError holds %d solicitations, want %d", len(ne.Neighbor.Sent), tc.sent)
					}
				}
				if nb.FromTable != tc.fromTable || len(nb.Sent) != tc.sent || nb.Unanswered() != tc.unanswered {
					t.Errorf("FromTable=%v sent=%d unanswered=%d, want %v %d %d", nb.FromTable, len(nb.Sent), nb.Unanswered(), tc.fromTable, tc.sent, tc.unanswered)
				}
				if tc.wantErr == nil && nb.HardwareAddr == nil {
					t.Errorf("no hardware address")
				}
				if tc.wantErr == nil && tc.sent > 0 && (nb.Answered.Before(nb.Sent[0]) || nb.Protocol == "") {
					t.Errorf("answered at %v, before the request at %v, or no protocol %q", nb.Answered, nb.Sent[0], nb.Protocol)
				}
				for i := 1; i < len(nb.Sent); i++ {
					if gap := nb.Sent[i].Sub(nb.Sent[i-1]); gap < iv-5*time.Millisecond || gap > iv+80*time.Millisecond {
						t.Errorf("solicitations %d and %d are %v apart, want ≈%v", i-1, i, gap, iv)
					}
				}
				if tc.deadline > 0 && took > tc.deadline+100*time.Millisecond {
					t.Errorf("took %v, the deadline was %v", took, tc.deadline)
				}
			})
		})
	}
}
