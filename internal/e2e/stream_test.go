package e2e

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// TestStreamedFleet sweeps port 81 of every address of a /16 the server
// owns (it answers RST) plus one more address, 65,537 probes: more than
// one engine Run takes, so the round is streamed. The router drops the
// SYNs to every address ending in .7 (256 of them, spread over the run),
// which time out at --timeout 2s. Every target must be reported once with
// its right outcome, and the run must take about one give-up time: a
// silent target holds up only itself (in chunks of 4,096, four at a time,
// each chunk waited for its slowest: about 10 s here).
func TestStreamedFleet(t *testing.T) {
	l := labtest.New(t)
	fleet := netip.MustParsePrefix("198.19.0.0/16")
	extra := netip.MustParseAddr("198.18.41.1")
	serverOwns(t, l, fleet, netip.PrefixFrom(extra, 32))
	for _, c := range []struct {
		ns   string
		args []string
	}{
		{l.Router, []string{"nft", "add", "table", "inet", "tpstream"}},
		{l.Router, []string{"nft", "add", "chain", "inet", "tpstream", "drop7", "{ type filter hook forward priority -10; }"}},
		{l.Router, []string{"nft", "add", "rule", "inet", "tpstream", "drop7", "ip", "daddr", "&", "0.0.0.255", "==", "0.0.0.7", "tcp", "dport", "81", "drop"}},
	} {
		if out, err := l.Exec(c.ns, c.args...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c.args, " "), err, out)
		}
	}
	r := tcpprobe(t, l, 60*time.Second, "--ndjson", "--rate", "max", "--timeout", "2s", fleet.String()+":81", extra.String()+":81")
	seen := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct{ Schema, Target, Address, Outcome string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not an NDJSON line (%v): %q", err, sc.Text())
		}
		if rec.Target == "" {
			continue // the summary record
		}
		if _, dup := seen[rec.Address]; dup {
			t.Errorf("%s reported twice", rec.Address)
		}
		seen[rec.Address] = rec.Outcome
	}
	wrong := 0
	for a := fleet.Addr(); fleet.Contains(a); a = a.Next() {
		want := "refused"
		if a.As4()[3] == 7 {
			want = "timeout"
		}
		if got := seen[a.String()]; got != want {
			if wrong++; wrong <= 5 {
				t.Errorf("%s: %q, want %q", a, got, want)
			}
		}
	}
	if seen[extra.String()] != "refused" {
		t.Errorf("%s: %q, want refused", extra, seen[extra.String()])
	}
	if len(seen) != 65537 {
		t.Errorf("%d addresses reported, want 65,537 (%d wrong)\nstderr: %s", len(seen), wrong, r.stderr)
	}
	t.Logf("65,537 probes, 256 silent, in %v", r.took)
	if r.took > 8*time.Second {
		t.Errorf("took %v: silent targets held the others up (about one 2 s give-up expected)", r.took)
	}
}
