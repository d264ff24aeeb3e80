package probe_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// watchedNet is the fake network with routing notifications: change
// reports a change to the Prober; lookups counts route lookups.
type watchedNet struct {
	*probetest.Network
	lookups atomic.Int32
	mu      sync.Mutex
	changed func()
}

func (w *watchedNet) RouteTo(dst netip.Addr, opt rawsock.RouteOptions) (rawsock.Route, error) {
	w.lookups.Add(1)
	return w.Network.RouteTo(dst, opt)
}

func (w *watchedNet) WatchRoutes(changed, lost func()) (func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changed = changed
	return func() {}, nil
}

// watchedProber returns a linux-profile Prober over a watchedNet, SYNs at
// 0, 100, 200 and 300 ms, give-up at 400 ms.
func watchedProber(t *testing.T) (*watchedNet, *probe.Prober) {
	t.Helper()
	w := &watchedNet{Network: probetest.New()}
	s, err := probe.ParseSchedule("0,100ms,200ms,300ms/400ms")
	if err != nil {
		t.Fatal(err)
	}
	prof := probe.Linux(6, 4)
	prof.Schedule = s
	pr, err := probe.New(probe.Config{Profile: prof, Network: w})
	if err != nil {
		t.Fatal(err)
	}
	return w, pr
}

func (w *watchedNet) change() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.changed()
}

// TestRouteAskedAgainOnlyAfterAChange: with routing notifications, a
// waiting probe's retransmissions ask for its route again only once a
// change was heard (the kernel's cached route stands until its generation
// moves); a route that changed to unreachable then keeps them back.
func TestRouteAskedAgainOnlyAfterAChange(t *testing.T) {
	tests := []struct {
		name        string
		change      bool
		wantLookups int32 // after planning's one
		attempts    int
	}{
		{"no change: no lookup", false, 0, 4},
		{"a change: every later retransmission asks", true, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w, pr := watchedProber(t)
				defer pr.Close()
				tg := target(probetest.Server4, probetest.PortSilent)
				if tt.change {
					time.AfterFunc(150*time.Millisecond, func() {
						w.SetRouteError(tg.Addr.Addr(), syscall.EHOSTUNREACH)
						w.change()
					})
				}
				var got *probe.Result
				if err := pr.Run(context.Background(), []probe.Target{tg}, func(r *probe.Result) { got = r }); err != nil {
					t.Fatal(err)
				}
				if n := w.lookups.Load() - 1; n != tt.wantLookups || len(got.Attempts) != tt.attempts {
					t.Errorf("%d route lookups after planning, %d SYNs left; want %d, %d", n, len(got.Attempts), tt.wantLookups, tt.attempts)
				}
			})
		})
	}
}

// TestRetransmissionFollowsNewNextHop: when the route to a waiting
// probe's destination moves to another gateway on the same link, the
// retransmissions go to the new gateway's hardware address (once it is
// resolved), as the kernel's would, never to the old one.
func TestRetransmissionFollowsNewNextHop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, pr := watchedProber(t)
		defer pr.Close()
		tg := target(probetest.Server4, probetest.PortSilent)
		gw := netip.MustParseAddr("198.18.1.77")
		time.AfterFunc(150*time.Millisecond, func() {
			w.SetRouteGateway(tg.Addr.Addr(), gw)
			w.change()
		})
		var got *probe.Result
		if err := pr.Run(context.Background(), []probe.Target{tg}, func(r *probe.Result) { got = r }); err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, s := range w.Sent() {
			if s.Seg.Flags == wire.SYN {
				to = append(to, s.To.String())
			}
		}
		old, new := probetest.MACOf(probetest.Router4).String(), probetest.MACOf(gw).String()
		want := []string{old, old, new, new}
		if fmt.Sprint(to) != fmt.Sprint(want) || len(got.Attempts) != 4 {
			t.Errorf("SYNs went to %v (%d attempts), want %v\n%+v", to, len(got.Attempts), want, got.Events)
		}
	})
}
