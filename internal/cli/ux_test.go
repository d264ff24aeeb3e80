package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/probe/probetest"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// rawsockDenied fails to open links with rawsock's own words, advice
// included, as an unprivileged process sees them.
type rawsockDenied struct{ *probetest.Network }

func (rawsockDenied) OpenLink(ifi *net.Interface, cfg rawsock.LinkConfig) (probe.Link, error) {
	err := &os.SyscallError{Syscall: "socket", Err: syscall.EPERM}
	return nil, fmt.Errorf("rawsock: open packet socket on %s: %w: tcpprobe needs CAP_NET_RAW; run it as root or grant it with `sudo setcap cap_net_raw+ep $(which tcpprobe)`", ifi.Name, err)
}

// TestMessagesOnce: errors from lower layers reach the user in plain
// words, their advice once.
func TestMessagesOnce(t *testing.T) {
	open := tgt(probetest.Server4, probetest.PortOpen)
	got := runCmd(t, Env{Network: rawsockDenied{probetest.New()}}, "", "--mode", "raw", open)
	if got.code != ExitEnvironment || strings.Count(got.stderr, "setcap") != 1 || strings.Count(got.stderr, "\n") != 1 {
		t.Errorf("--mode raw without CAP_NET_RAW: exit %d, stderr %q; want 3 and one line with the advice once", got.code, got.stderr)
	}
	if !strings.HasPrefix(got.stderr, "tcpprobe: ") || strings.Contains(got.stderr, "rawsock:") {
		t.Errorf("stderr %q: want no package prefix", got.stderr)
	}

	got = runCmd(t, Env{}, "", "--interface", "nosuch0", open)
	if want := "tcpprobe: interface \"nosuch0\" does not exist on this host (see ip link)\n"; got.code != ExitEnvironment || got.stderr != want {
		t.Errorf("--interface nosuch0: exit %d, stderr %q; want 3 and %q", got.code, got.stderr, want)
	}
}

// TestQuiet: -q prints nothing, not even a notice, and keeps the exit
// code.
func TestQuiet(t *testing.T) {
	open, closed := loopbackPorts(t)
	env := Env{Network: loopbackNet{deniedNet{probetest.New()}}}
	got := runCmd(t, env, "", "-q", "--expect", "open", open, closed)
	if got.code != ExitUnmet || got.stdout != "" || got.stderr != "" {
		t.Errorf("-q: exit %d, stdout %q, stderr %q; want 1 and nothing printed", got.code, got.stdout, got.stderr)
	}
	got = runCmd(t, env, "", "-q", open)
	if got.code != ExitOK || got.stdout != "" || got.stderr != "" {
		t.Errorf("-q: exit %d, stdout %q, stderr %q; want 0 and nothing printed", got.code, got.stdout, got.stderr)
	}
}

// TestChunks: a run of more targets than one chunk keeps input order and
// reports every target once.
func TestChunks(t *testing.T) {
	var got []int
	seq := func(yield func(probe.Target, error) bool) {
		for i := range 10 {
			if !yield(probe.Target{Name: fmt.Sprint(i)}, nil) {
				return
			}
		}
	}
	err := eachChunk(seq, 4, func(c []probe.Target) error {
		got = append(got, len(c))
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[4 4 2]" {
		t.Errorf("chunks %v, err %v; want [4 4 2]", got, err)
	}
}

// TestChunkedRun: a run of more targets than one Run takes is fed to the
// engine in chunks and still prints every target once, in input order.
func TestChunkedRun(t *testing.T) {
	if chunkFor(wholeRun) != int(wholeRun) || chunkFor(wholeRun+1) != chunkSize {
		t.Fatalf("chunkFor: %d, %d", chunkFor(wholeRun), chunkFor(wholeRun+1))
	}
	defer func(w int64, c int) { wholeRun, chunkSize = w, c }(wholeRun, chunkSize)
	wholeRun, chunkSize = 8, 3
	_, env := fake()
	got := runCmd(t, env, "", append(short, "-p", "1-10", probetest.Server4.String(), probetest.Server6.String())...)
	lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20\nstderr: %s", len(lines), got.stderr)
	}
	for i, l := range lines {
		a, port := probetest.Server4, i+1
		if i >= 10 {
			a, port = probetest.Server6, i-10+1
		}
		if want := tgt(a, uint16(port)) + " "; !strings.HasPrefix(l, want) {
			t.Fatalf("line %d is %q, want it to start %q", i+1, l, want)
		}
	}
}

// TestChunksOverlap: the chunks of a big run are probed several at once,
// so a silent target in every chunk costs one give-up time, not one per
// chunk; every target is still reported once, in input order.
func TestChunksOverlap(t *testing.T) {
	defer func(w int64, c int) { wholeRun, chunkSize = w, c }(wholeRun, chunkSize)
	wholeRun, chunkSize = 4, 2
	_, env := fake()
	var args []string
	const chunks = 4 // of two targets: one silent, one open
	for i := range chunks {
		args = append(args, tgt(probetest.Server4, probetest.PortSilent+uint16(100*i)), tgt(probetest.Server4, probetest.PortOpen))
	}
	start := time.Now()
	got := runCmd(t, env, "", append([]string{"--schedule", "0/400ms"}, args...)...)
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
	if len(lines) != len(args) {
		t.Fatalf("%d lines for %d targets\nstdout: %s\nstderr: %s", len(lines), len(args), got.stdout, got.stderr)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, args[i]+" ") {
			t.Errorf("line %d is %q, want it to start %q", i+1, l, args[i])
		}
	}
	if took > 1200*time.Millisecond {
		t.Errorf("%d chunks with a 400 ms silent target each took %v: they ran one after another", chunks, took)
	}
}

// TestStreamedRoundNoStall: a raw round of more targets than one Run takes
// is one stream, so ten silent targets spread over 1,000 cost one give-up
// time, not one per chunk of the slowest; every target is reported once,
// in input order by default and as decided with --ndjson.
func TestStreamedRoundNoStall(t *testing.T) {
	defer func(w int64, c int) { wholeRun, chunkSize = w, c }(wholeRun, chunkSize)
	wholeRun, chunkSize = 64, 64 // chunked, this would be 16 chunks, 4 at a time
	var args []string
	for i := range 1000 {
		port := uint16(probetest.PortClosed)
		if i%100 == 50 {
			port = probetest.PortSilent
		}
		args = append(args, tgt(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), port))
	}
	for _, tc := range []struct {
		name    string
		flags   []string
		inOrder bool
	}{{"text", nil, true}, {"ndjson", []string{"--ndjson"}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			_, env := fake()
			start := time.Now()
			got := runCmd(t, env, "", append(append([]string{"--schedule", "0/400ms"}, tc.flags...), args...)...)
			took := time.Since(start)
			lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
			seen := map[string]bool{}
			for i, l := range lines {
				name := strings.Fields(l)[0]
				if tc.flags != nil {
					var rec struct{ Target string }
					if err := json.Unmarshal([]byte(l), &rec); err != nil {
						t.Fatalf("line %d: %v", i+1, err)
					}
					name = rec.Target
				}
				if seen[name] {
					t.Errorf("%s reported twice", name)
				}
				seen[name] = true
				if tc.inOrder && (i >= len(args) || name != args[i]) {
					t.Fatalf("line %d is %q, want %s first", i+1, l, args[min(i, len(args)-1)])
				}
			}
			if len(seen) != len(args) {
				t.Fatalf("%d targets reported of %d\nstderr: %s", len(seen), len(args), got.stderr)
			}
			if took > 1200*time.Millisecond {
				t.Errorf("1,000 targets with 10 silent (400 ms) took %v: slow targets held the others up", took)
			}
			t.Logf("%d targets in %v", len(args), took)
		})
	}
}
