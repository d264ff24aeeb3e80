package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// TestTargetsPrefixes probes a /24 and a /120 on ports 80 and 81, less an
// exclusion: every address of each prefix (network and broadcast
// included) is probed once per port, each classified right (open where a
// listener is, refused elsewhere), and no excluded address appears.
func TestTargetsPrefixes(t *testing.T) {
	l := labtest.New(t)
	open := []netip.Addr{
		netip.MustParseAddr("198.18.40.0"), netip.MustParseAddr("198.18.40.10"), netip.MustParseAddr("198.18.40.255"),
		netip.MustParseAddr("fd00:40::"), netip.MustParseAddr("fd00:40::10"), netip.MustParseAddr("fd00:40::ff"),
	}
	addFleet(t, l, open)
	isOpen := map[netip.AddrPort]bool{}
	for _, a := range open {
		isOpen[netip.AddrPortFrom(a, lab.PortOpen)] = true
	}
	excluded := func(a netip.Addr) bool {
		return netip.MustParsePrefix("198.18.40.128/26").Contains(a) || a == netip.MustParseAddr("198.18.40.7") ||
			netip.MustParsePrefix("fd00:40::80/121").Contains(a)
	}
	r := tcpprobe(t, l, 30*time.Second, "--ndjson", "--timeout", "2s", "-p", "80,81",
		"--exclude", "198.18.40.128/26,198.18.40.7", "--exclude", "[fd00:40::80/121]",
		fleetV4.String(), fleetV6.String())
	if r.exit != 1 {
		t.Errorf("exit %d, want 1 (refused ports are not open)\nstderr: %s", r.exit, r.stderr)
	}
	got := map[netip.AddrPort]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var res report.Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("line is not a result (%v): %.200s\nstderr: %s", err, line, r.stderr)
		}
		ap := netip.AddrPortFrom(netip.MustParseAddr(res.Address), res.Port)
		if _, dup := got[ap]; dup {
			t.Errorf("%s reported twice", ap)
		}
		got[ap] = res.Outcome
		if res.Target != ap.String() {
			t.Errorf("target %q for %s: a prefix's member is reported as ADDR:PORT", res.Target, ap)
		}
	}
	var wrong []string
	want := 0
	for _, p := range []netip.Prefix{fleetV4, fleetV6} {
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			for _, port := range []uint16{lab.PortOpen, lab.PortClosed} {
				ap := netip.AddrPortFrom(a, port)
				w := "refused"
				if isOpen[ap] {
					w = "open"
				}
				if excluded(a) {
					w = ""
				} else {
					want++
				}
				if got[ap] != w {
					wrong = append(wrong, fmt.Sprintf("%s: got %q, want %q", ap, got[ap], w))
				}
			}
		}
	}
	if len(got) != want {
		t.Errorf("%d results, want %d", len(got), want)
	}
	if len(wrong) > 0 {
		t.Errorf("%d destinations wrong, first ones:\n%s\nstderr: %s", len(wrong), strings.Join(wrong[:min(10, len(wrong))], "\n"), r.stderr)
	}
}

// TestTargetsNameAddresses: a name with several addresses (a hosts file
// entry) probed with --all-addresses is reported by address: every line,
// the timeout line too, and a summary per address in text and NDJSON.
func TestTargetsNameAddresses(t *testing.T) {
	l := labtest.New(t)
	addFleet(t, l, []netip.Addr{netip.MustParseAddr("198.18.40.10"), netip.MustParseAddr("fd00:40::10")})
	addHosts(t, l, "198.18.40.10 multi", "fd00:40::10 multi", "198.18.40.11 multi", "198.18.12.1 multi")
	addrs := []string{"198.18.40.10", "fd00:40::10", "198.18.40.11", "198.18.12.1"}
	outcome := map[string]string{"198.18.40.10": "open", "fd00:40::10": "open", "198.18.40.11": "refused", "198.18.12.1": "timeout"}

	r := tcpprobe(t, l, 20*time.Second, "--all-addresses", "-c", "2", "--interval", "100ms", "--timeout", "500ms", "multi:80")
	if r.exit != 1 {
		t.Errorf("exit %d, want 1\nstdout: %s\nstderr: %s", r.exit, r.stdout, r.stderr)
	}
	for _, a := range addrs {
		for seq := 1; seq <= 2; seq++ {
			want := fmt.Sprintf("seq=%d multi:80 (%s) %s", seq, a, outcome[a])
			if !strings.Contains(r.stdout, want+" ") {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
		}
		if want := fmt.Sprintf("--- multi:80 (%s) ---\n2 probes sent, ", a); !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks the summary %q:\n%s", want, r.stdout)
		}
	}

	r = tcpprobe(t, l, 20*time.Second, "--ndjson", "--all-addresses", "-c", "2", "--interval", "100ms", "--timeout", "500ms", "multi:80")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 8+4 {
		t.Fatalf("%d lines, want 8 results and 4 summaries:\n%s", len(lines), r.stdout)
	}
	var sums []string
	for i, line := range lines {
		var kind struct{ Type string }
		if err := json.Unmarshal([]byte(line), &kind); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		if kind.Type != "summary" {
			if i >= 8 {
				t.Errorf("line %d is a result after the summaries began: %s", i+1, line)
			}
			continue
		}
		var s report.Summary
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		wantAnswered, wantLoss := 2, 0.0
		if outcome[s.Address] == "timeout" {
			wantAnswered, wantLoss = 0, 100
		}
		if s.Target != "multi:80" || s.Sent != 2 || s.Answered != wantAnswered || s.LossPct != wantLoss || s.Outcomes[outcome[s.Address]] != 2 {
			t.Errorf("summary %s: want 2 sent, %d answered, %v%% loss, 2 %s", line, wantAnswered, wantLoss, outcome[s.Address])
		}
		sums = append(sums, s.Address)
	}
	sort.Strings(sums)
	want := append([]string(nil), addrs...)
	sort.Strings(want)
	if strings.Join(sums, " ") != strings.Join(want, " ") {
		t.Errorf("summaries for %v, want one per address %v", sums, want)
	}
}

// TestTargetsSyntax runs the other forms end to end: an octet range, port
// names, HOST PORT lines in a target file from standard input with an
// exclusion file, and an IPv6 link-local address with its zone, sent
// through that interface (to the router, which refuses).
func TestTargetsSyntax(t *testing.T) {
	l := labtest.New(t)
	addFleet(t, l, []netip.Addr{netip.MustParseAddr("198.18.40.2")})
	ll, err := routerLinkLocal(l)
	if err != nil {
		t.Fatal(err)
	}
	got, r := probeJSON(t, l, 20*time.Second, "--timeout", "2s", "198.18.40.1-3:http,81",
		"["+ll.String()+"%"+lab.ClientIf+"]:81")
	want := map[string]string{
		"198.18.40.1:80": "refused", "198.18.40.2:80": "open", "198.18.40.3:80": "refused",
		"198.18.40.1:81": "refused", "198.18.40.2:81": "refused", "198.18.40.3:81": "refused",
		"[" + ll.String() + "%" + lab.ClientIf + "]:81": "refused",
	}
	check := func(got map[string]*report.Result, r run) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%d results, want %d\nstdout: %s\nstderr: %s", len(got), len(want), r.stdout, r.stderr)
		}
		for target, w := range want {
			if res := got[target]; res == nil || res.Outcome != w {
				t.Errorf("%s: %+v, want %s\nstderr: %s", target, res, w, r.stderr)
			}
		}
	}
	check(got, r)
	zoned := got["["+ll.String()+"%"+lab.ClientIf+"]:81"]
	if zoned != nil && (zoned.Interface != lab.ClientIf || zoned.Responder != ll.String()) {
		t.Errorf("link-local probe went through %q answered by %q, want %s and %s", zoned.Interface, zoned.Responder, lab.ClientIf, ll)
	}

	// connect(2) sends through the zone's interface too.
	zt := "[" + ll.String() + "%" + lab.ClientIf + "]:81"
	got, r = probeJSON(t, l, 20*time.Second, "--mode", "connect", "--timeout", "2s", zt)
	if res := got[zt]; res == nil || res.Outcome != "refused" || res.Mode != "connect" {
		t.Errorf("--mode connect %s: %+v, want refused\nstderr: %s", zt, res, r.stderr)
	}

	// The same from a target file on standard input, HOST PORT lines,
	// with an exclusion file.
	dir := t.TempDir()
	ex := dir + "/exclude.txt"
	writeFile(t, ex, "# not these\n198.18.40.4\n198.18.40.5 81\n")
	file := "198.18.40.1-3 http,81\n[" + ll.String() + "%" + lab.ClientIf + "] 81\n198.18.40.4 80\n198.18.40.5 81\n"
	writeFile(t, dir+"/targets.txt", file)
	cmd := fmt.Sprintf("cat %s/targets.txt | %s --json --timeout 2s --exclude-file %s -f -", dir, bin, ex)
	r = runIn(t, l, 20*time.Second, "sh", "-c", cmd)
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	got = map[string]*report.Result{}
	for _, res := range doc.Results {
		got[res.Target] = res
	}
	check(got, r)
}

// TestTargetsStreamed: a target file of 262,144 lines (a /18 × 16 ports,
// every address answered by the server's RST) is probed to the last line,
// and the process's peak memory stays far below what holding every probe
// would take (about 2.7 KiB each, 690 MiB): targets are streamed from the
// file and handed to the engine in chunks. scripts/targets-million.sh
// does the same with a million lines.
func TestTargetsStreamed(t *testing.T) {
	l := labtest.New(t)
	wide := netip.MustParsePrefix("198.18.64.0/18")
	serverOwns(t, l, wide)
	name := t.TempDir() + "/targets.txt"
	var b strings.Builder
	n := 0
	for a := wide.Addr(); wide.Contains(a); a = a.Next() {
		for port := 1; port <= 16; port++ {
			fmt.Fprintf(&b, "%s %d\n", a, port)
			n++
		}
	}
	writeFile(t, name, b.String())

	results, refused := 0, 0
	rss := runWatched(t, l, func(line string) {
		results++
		if strings.Contains(line, `"outcome":"refused"`) {
			refused++
		}
	}, "--ndjson", "--timeout", "1s", "-f", name) >> 10 // KiB
	if results != n || refused != n {
		t.Errorf("%d results, %d refused; want %d of each", results, refused, n)
	}
	t.Logf("%d targets: peak RSS %d MiB", n, rss>>10)
	if rss > 200<<10 {
		t.Errorf("peak RSS %d MiB for %d streamed targets, want under 200 MiB", rss>>10, n)
	}
}
