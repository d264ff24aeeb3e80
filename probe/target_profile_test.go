package probe_test

import (
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
)

// TestTargetProfile: a target's own Profile replaces the Prober's for that
// target only: its schedule, its ICMP policy and what its result says,
// also when the result is decided locally. On the fake clock.
func TestTargetProfile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		quick := short(t) // 0,100ms,200ms/400ms
		quick.Name = "quick"
		hard := quick
		hard.Name, hard.ICMP = "hard", probe.ICMPHard
		silent := target(probetest.Server4, probetest.PortSilent)
		silent.Profile = &quick
		icmp := target(probetest.Server6, probetest.PortICMPHost) // soft under classic
		icmp.Profile = &hard
		noRoute := target(netip.MustParseAddr("198.18.9.9"), 80)
		noRoute.Profile = &quick
		plain := target(probetest.Server4, probetest.PortOpen) // the Prober's own

		fake := probetest.New()
		fake.SetRouteError(noRoute.Addr.Addr(), syscall.EHOSTUNREACH)
		start := time.Now()
		// The Prober's classic schedule gives up at 75 s: the run ends in
		// well under a second only if each target's own schedule is used.
		got := runAll(t, probe.Config{Profile: probe.Classic(), Network: fake}, []probe.Target{silent, icmp, noRoute, plain})
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v: the targets' 400 ms schedules were not used", took)
		}
		tests := []struct {
			name     string
			outcome  probe.Outcome
			profile  string
			soft     bool
			attempts int
			giveUp   time.Duration
		}{
			{silent.Name, probe.Timeout, "quick", false, 3, 400 * time.Millisecond},
			{icmp.Name, probe.Unreachable, "hard", false, 1, 400 * time.Millisecond},
			{noRoute.Name, probe.LocalError, "quick", false, 0, 400 * time.Millisecond},
			{plain.Name, probe.Open, "classic", false, 1, 75 * time.Second},
		}
		for _, tc := range tests {
			r := got[tc.name]
			if r == nil {
				t.Errorf("%s: no result", tc.name)
				continue
			}
			if r.Outcome != tc.outcome || r.Profile != tc.profile || r.Soft != tc.soft || len(r.Attempts) != tc.attempts || r.Schedule.GiveUp != tc.giveUp {
				t.Errorf("%s: %s profile %s soft %v attempts %d give-up %v; want %s %s %v %d %v", tc.name,
					r.Outcome, r.Profile, r.Soft, len(r.Attempts), r.Schedule.GiveUp, tc.outcome, tc.profile, tc.soft, tc.attempts, tc.giveUp)
			}
		}
	})
}
