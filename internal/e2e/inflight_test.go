package e2e

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// inFlightBudget is issue 13's bound: the memory a probe in flight may
// cost the process, beyond a constant (inFlightConst).
const (
	inFlightBudget = 1 << 10
	inFlightConst  = 48 << 20
)

// TestMemoryPerProbeInFlight: a streamed run of 70,000 silent targets
// (35,000 addresses x 2 ports whose SYNs the server drops, so each
// probe waits out --timeout) at two
// --concurrency levels, with every probe of the window in flight all
// along. The peak RSS grows by at most 1 KiB per probe of the window, and
// stays under a constant plus 1 KiB per probe at both.
func TestMemoryPerProbeInFlight(t *testing.T) {
	l := labtest.New(t)
	wide := netip.MustParsePrefix("198.19.0.0/16")
	serverOwns(t, l, wide)
	for _, c := range [][]string{
		{l.Server, "nft", "add", "table", "inet", "tpm"},
		{l.Server, "nft", "add chain inet tpm in { type filter hook input priority 0; policy accept; }"},
		{l.Server, "nft", "add rule inet tpm in tcp dport { 9, 10 } drop"},
	} {
		if out, err := l.Exec(c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", c[1:], err, out)
		}
	}
	const n = 70000
	name := t.TempDir() + "/targets.txt"
	var b strings.Builder
	a := wide.Addr()
	for i := 0; i < n; i += 2 {
		fmt.Fprintf(&b, "%s 9\n%s 10\n", a, a)
		a = a.Next()
	}
	writeFile(t, name, b.String())

	levels := []int{4000, 32000}
	peak := make([]int64, len(levels))
	for i, c := range levels {
		peak[i] = streamPeakRSS(t, l, name, n, c)
		t.Logf("--concurrency %d: peak RSS %.1f MiB", c, float64(peak[i])/(1<<20))
		if limit := int64(inFlightConst + inFlightBudget*c); peak[i] > limit {
			t.Errorf("--concurrency %d: peak RSS %d bytes, over %d MiB + 1 KiB per probe in flight (%d)", c, peak[i], inFlightConst>>20, limit)
		}
	}
	per := float64(peak[1]-peak[0]) / float64(levels[1]-levels[0])
	t.Logf("%.0f bytes per probe in flight", per)
	if per > inFlightBudget {
		t.Errorf("each probe in flight costs %.0f bytes of RSS, want at most %d", per, inFlightBudget)
	}
}

// streamPeakRSS runs tcpprobe over the n silent targets of file at
// --concurrency c and returns its peak RSS in bytes.
func streamPeakRSS(t *testing.T, l *lab.Lab, file string, n, c int) int64 {
	t.Helper()
	results, timeouts := 0, 0
	rss := runWatched(t, l, func(line string) {
		results++
		if strings.Contains(line, `"outcome":"timeout"`) {
			timeouts++
		}
	}, "--ndjson", "--timeout", "500ms", "--concurrency", strconv.Itoa(c), "-f", file)
	if results != n || timeouts != n {
		t.Fatalf("--concurrency %d: %d results, %d timeouts; want %d of each", c, results, timeouts, n)
	}
	return rss
}
