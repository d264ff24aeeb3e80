package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// TestRoundsOverlapInLab: -c 4 --interval 300ms beside a target the router
// drops: the live target's rounds still start 300 ms apart (issue 12), not
// one give-up time apart, and every round of both is reported.
func TestRoundsOverlapInLab(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	live := netip.AddrPortFrom(lab.ServerV4, lab.PortOpen).String()
	dead := netip.AddrPortFrom(lab.ServerV4, lab.PortDrop).String()
	r := tcpprobe(t, l, 30*time.Second, "--json", "-c", "4", "--interval", "300ms", "--timeout", "2s", dead, live)
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	var starts []time.Time
	seqs := map[string][]int{}
	for _, res := range doc.Results {
		seqs[res.Target] = append(seqs[res.Target], res.Seq)
		if res.Target == live {
			if res.Outcome != "open" {
				t.Errorf("round %d of %s: %s, want open", res.Seq, live, res.Outcome)
			}
			starts = append(starts, res.Started)
		}
	}
	for tg, s := range seqs {
		slices.Sort(s)
		if !slices.Equal(s, []int{1, 2, 3, 4}) {
			t.Errorf("%s: rounds %v reported, want 1 to 4", tg, s)
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	if len(starts) != 4 {
		t.Fatalf("%d results for %s, want 4", len(starts), live)
	}
	for k := 1; k < 4; k++ {
		want := time.Duration(k) * 300 * time.Millisecond
		t.Logf("round %d of %s started %v after the first", k+1, live, starts[k].Sub(starts[0]))
		if got := starts[k].Sub(starts[0]); got < want-30*time.Millisecond || got > want+30*time.Millisecond {
			t.Errorf("round %d of %s started %v after the first, want %v ± 30ms", k+1, live, got, want)
		}
	}
	if r.took > 4*time.Second {
		t.Errorf("the run took %v: rounds waited for the dead target (want about 0.9 s + 2 s, not 4 rounds of 2 s)", r.took)
	}
}

// TestICMPRateLimitInLab: ports the router rejects with ICMP port
// unreachable, probed at once while the router rate-limits its ICMP errors
// as Linux does by default (one a second per destination after a burst of
// six): without slow re-probes most of them would be timeouts (issue 12);
// with them every one is refused, and the run says it re-probed.
func TestICMPRateLimitInLab(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	const first, n = 20000, 12
	for _, c := range [][]string{
		// The lab turns ICMP rate limits off in every namespace; this
		// router limits as a default Linux router does.
		{"sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=1000", "net.ipv4.icmp_ratemask=6168"},
		{"nft", "insert", "rule", "inet", "tcpprobe", "scenarios", fmt.Sprintf("ip daddr %s tcp dport %d-%d reject with icmp type port-unreachable", lab.ServerV4, first, first+n-1)},
	} {
		if out, err := l.Exec(l.Router, c...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	got, r := probeJSON(t, l, 60*time.Second, "--profile", "linux", "--timeout", "2s", "-p", fmt.Sprintf("%d-%d", first, first+n-1), lab.ServerV4.String())
	refused := 0
	for _, res := range got {
		if res.Outcome == "refused" && res.Reason == "icmp-port-unreachable" {
			refused++
		}
	}
	if refused != n {
		t.Errorf("%d of %d ports refused by ICMP, want all\nstderr: %s", refused, n, r.stderr)
	}
	if !strings.Contains(r.stderr, "rate-limit ICMP errors") {
		t.Errorf("no word of the router's ICMP rate limit on stderr: %q", r.stderr)
	}
}
