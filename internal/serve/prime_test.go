package serve

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
)

// TestPrime: one target per interface and source among the allowed
// networks, none for loopback or networks without a route; a Run over
// them cancelled from Ready opens the links and sends nothing.
func TestPrime(t *testing.T) {
	var allow []netip.Prefix
	for _, s := range []string{"198.18.2.0/24", "198.18.3.0/24", "fd00:2::/64", "127.0.0.0/8", "::1/128", "10.0.0.0/8", "198.18.9.9/32"} {
		allow = append(allow, netip.MustParsePrefix(s))
	}
	fake := probetest.New()
	// The fake routes 198.18.0.0/15 and fd00::/8 through one interface,
	// with one gateway per family.
	ts := PrimeTargets(allow, fake, []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24"), netip.MustParsePrefix("10.1.0.0/16")})
	var got []string
	for _, tg := range ts {
		got = append(got, tg.Addr.String())
	}
	// 198.18.3.0/24 and 198.18.9.9 leave like 198.18.2.0/24: one link
	// and source already; 10/8 has no route in the fake; loopback is left
	// to connect(2).
	if diff := cmp.Diff([]string{"198.18.2.1:9", "[fd00:2::1]:9"}, got); diff != "" {
		t.Errorf("prime targets (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readies := 0
	pr, err := probe.New(probe.Config{Profile: probe.Classic(), Network: fake, Ready: func() error {
		readies++
		cancel()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	err = pr.Run(ctx, ts, func(*probe.Result) {})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("priming Run: %v, want context.Canceled", err)
	}
	if readies != 1 || fake.OpenLinks() != 1 || len(fake.Sent()) != 0 {
		t.Errorf("Ready called %d times, %d links open, %d packets sent; want 1, 1, 0", readies, fake.OpenLinks(), len(fake.Sent()))
	}
	// The next Run uses the primed link, for both families.
	n := 0
	if err := pr.Run(context.Background(), []probe.Target{
		{Name: "v4", Addr: netip.AddrPortFrom(probetest.Server4, probetest.PortOpen)},
		{Name: "v6", Addr: netip.AddrPortFrom(probetest.Server6, probetest.PortOpen)},
	}, func(r *probe.Result) {
		n++
		if r.Outcome != probe.Open {
			t.Errorf("%s after priming: %s", r.Target, r.Outcome)
		}
	}); err != nil || n != 2 {
		t.Errorf("Run after priming: %v, %d results", err, n)
	}
	if fake.OpenLinks() != 1 {
		t.Errorf("%d links open after a scrape, want the primed one only", fake.OpenLinks())
	}
}
