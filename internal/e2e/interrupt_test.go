package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// TestInterrupt stops a run of 200 probes (100 ports of the lab's server,
// open, refused, rejected and silent ones, and 100 ports behind the
// router's blackhole) with SIGINT or SIGTERM once the quick answers are in
// (issue 6, "Interrupts"): probes in flight end "interrupted", the open
// ports got tcpprobe's RST (the client's kernel is kept from sending its
// own) so the server holds no SYN_RECV, the output is whole (the JSON
// document parses, every NDJSON line parses), the exit code is 130, and no
// process or namespace is left.
func TestInterrupt(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, format := range []string{"--json", "--ndjson"} {
			t.Run(fmt.Sprintf("%s%s", sig, format), func(t *testing.T) {
				t.Parallel()
				interruptRun(t, sig, format)
			})
		}
	}
}

func interruptRun(t *testing.T, sig syscall.Signal, format string) {
	var prefix string
	// Registered before the lab's own cleanup, so it runs after it.
	t.Cleanup(func() {
		if prefix == "" {
			return
		}
		left, _ := filepath.Glob(filepath.Join("/run/netns", prefix+"*"))
		if len(left) > 0 {
			t.Errorf("namespaces left after the test: %v", left)
		}
	})
	l := labtest.New(t)
	prefix = l.Prefix
	dropInboundSet(t, l, "{ 80, 90 }")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := l.Command(ctx, l.Client, bin, format, "-p", "1-100", lab.ServerV4.String(), lab.RouterBlackholeV4.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs the command itself: the pid is tcpprobe's.
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
	if err == nil && strings.TrimSpace(string(comm)) != "tcpprobe" && strings.TrimSpace(string(comm)) != "ip" {
		t.Fatalf("process %d is %q, not tcpprobe", cmd.Process.Pid, comm)
	}
	// Open, refused and hard ICMP answers take milliseconds; the next SYN of
	// the classic schedule is due at 6 s.
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	err = cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	exit := 0
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		exit = ee.ExitCode()
	default:
		t.Fatalf("tcpprobe did not end on %v: %v\nstderr: %s", sig, err, errb.String())
	}
	if exit != 130 {
		t.Errorf("exit code %d after %v, want 130\nstderr: %s", exit, sig, errb.String())
	}
	if took > 2*time.Second {
		t.Errorf("tcpprobe took %v to end after %v", took, sig)
	}

	var results []*report.Result
	if format == "--json" {
		var doc report.Document
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("output after %v is not a JSON document: %v\n%s", sig, err, out.String())
		}
		results = doc.Results
	} else {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			t.Errorf("NDJSON output does not end with a whole line: %q", tail(out.String()))
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			var r report.Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("NDJSON line %d does not parse: %v\n%s", n, err, sc.Text())
			}
			results = append(results, &r)
		}
	}
	if len(results) != 200 {
		t.Errorf("%d results, want 200 (one per target)", len(results))
	}
	byTarget := map[string]*report.Result{}
	count := map[string]int{}
	for _, r := range results {
		byTarget[r.Target] = r
		count[r.Outcome]++
	}
	t.Logf("%v after 1.5 s, ended in %v: %v", sig, took, count)
	want := map[string]string{}
	for _, p := range []uint16{lab.PortOpen, lab.PortDelay} {
		want[fmt.Sprintf("%s:%d", lab.ServerV4, p)] = "open"
	}
	for _, p := range []uint16{lab.PortDrop, lab.PortDropFirst1, lab.PortDropFirst2} {
		want[fmt.Sprintf("%s:%d", lab.ServerV4, p)] = "interrupted"
	}
	for _, p := range []uint16{lab.PortClosed, lab.PortRejectPort, lab.PortRejectReset} {
		want[fmt.Sprintf("%s:%d", lab.ServerV4, p)] = "refused"
	}
	for p := 1; p <= 100; p++ {
		want[fmt.Sprintf("%s:%d", lab.RouterBlackholeV4, p)] = "interrupted"
	}
	for target, o := range want {
		r := byTarget[target]
		switch {
		case r == nil:
			t.Errorf("%s: no result", target)
		case r.Outcome != o:
			t.Errorf("%s: outcome %s (%s), want %s", target, r.Outcome, r.Reason, o)
		case o == "interrupted" && r.Errno != "EINTR":
			t.Errorf("%s: interrupted with errno %q, want EINTR", target, r.Errno)
		case o == "open" && r.Teardown == "":
			t.Errorf("%s: open without a teardown RST", target)
		}
	}
	if n := count["open"] + count["refused"] + count["interrupted"]; n != len(results) {
		t.Errorf("outcomes %v: want only open, refused and interrupted", count)
	}

	if pids, err := exec.Command("ip", "netns", "pids", l.Client).Output(); err != nil || strings.TrimSpace(string(pids)) != "" {
		t.Errorf("processes left in the client namespace: %q (%v)", pids, err)
	}
	if ss, err := l.Exec(l.Server, "ss", "-Htan", "state", "syn-recv"); err != nil || strings.TrimSpace(ss) != "" {
		t.Errorf("server has half-open connections left (tcpprobe's RST missing?): %q (%v)", ss, err)
	}
}

// dropInboundSet is dropInbound for an nft set of source ports.
func dropInboundSet(t *testing.T, l *lab.Lab, ports string) {
	t.Helper()
	for _, args := range [][]string{
		{"nft", "add", "table", "inet", "tpt"},
		{"nft", "add", "chain", "inet", "tpt", "in", "{ type filter hook input priority 0; policy accept; }"},
		{"nft", "add", "rule", "inet", "tpt", "in", "tcp", "sport", ports, "drop"},
	} {
		if out, err := l.Exec(l.Client, args...); err != nil {
			t.Fatalf("client firewall: %v\n%s", err, out)
		}
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return "…" + s[len(s)-200:]
	}
	return s
}
