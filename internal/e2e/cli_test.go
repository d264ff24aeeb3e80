package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	junit "github.com/joshdk/go-junit"
	"github.com/tcpprobe/tcpprobe/docs/schema"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// cliTargets are one target of each quick outcome class in the lab.
func cliTargets() (open, closed, unreach, silent, local string) {
	return ap(lab.ServerV4, lab.PortOpen).String(), ap(lab.ServerV4, lab.PortClosed).String(),
		ap(lab.ServerV4, lab.PortRejectHost).String(), ap(lab.ServerV4, lab.PortDrop).String(),
		ap(lab.ClientProhibitV4, 80).String()
}

// TestCLISchema validates real lab output of --json and --ndjson against
// docs/schema/result-v1.json, and checks each NDJSON line is one whole
// result.
func TestCLISchema(t *testing.T) {
	l := labtest.New(t)
	open, closed, unreach, silent, local := cliTargets()
	open6 := ap(lab.ServerV6, lab.PortOpen).String()
	targets := []string{"--schedule", "0,300ms/1s", open, closed, unreach, silent, local, open6}

	r := tcpprobe(t, l, 20*time.Second, append([]string{"--json", "-v"}, targets...)...)
	if r.exit != 1 {
		t.Errorf("--json: exit %d, want 1 (closed ports among the targets)\nstderr: %s", r.exit, r.stderr)
	}
	if err := schema.Validate([]byte(r.stdout)); err != nil {
		t.Errorf("--json output does not match the schema: %v\n%s", err, r.stdout)
	}

	r = tcpprobe(t, l, 20*time.Second, append([]string{"--ndjson"}, targets...)...)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("--ndjson: %d lines for 6 targets:\n%s", len(lines), r.stdout)
	}
	got := map[string]string{}
	for _, line := range lines {
		if err := schema.Validate([]byte(line)); err != nil {
			t.Errorf("--ndjson line does not match the schema: %v\n%s", err, line)
		}
		var res report.Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Errorf("line is not one whole JSON object: %v: %s", err, line)
			continue
		}
		got[res.Target] = res.Outcome + " " + res.Errno
	}
	want := map[string]string{
		open: "open ", closed: "refused ECONNREFUSED", unreach: "unreachable EHOSTUNREACH",
		silent: "timeout ETIMEDOUT", local: "local-error EACCES", open6: "open ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// Finish order: the silent target, decided last, comes last.
	var last report.Result
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if last.Target != silent && last.Target != unreach {
		t.Errorf("--ndjson: last line is %s, want a target decided at the give-up time", last.Target)
	}
}

// TestCLIExitCodes: 0 when every expectation is met, 1 when one is not, 2
// for bad input with nothing sent.
func TestCLIExitCodes(t *testing.T) {
	l := labtest.New(t)
	open, closed, unreach, silent, local := cliTargets()
	file := filepath.Join(t.TempDir(), "targets.txt")
	text := "# what must and must not be reachable\n" + open + " expect=open\n" + closed + " expect=refused\n\n" +
		unreach + " expect=closed\n" + silent + " expect=timeout\n" + local + " expect=unreachable\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		exit int
	}{
		{"all met", []string{"-f", file}, 0},
		{"open", []string{open}, 0},
		{"closed without expect", []string{closed}, 1},
		{"expect open on a closed port", []string{"--expect", "open", closed}, 1},
		{"expect closed on an open port", []string{"--expect", "closed", open}, 1},
		{"bad port", []string{"198.18.2.2:70000"}, 2},
		{"IPv6 without brackets", []string{"fd00:2::2:80"}, 2},
		{"unknown flag", []string{"--bogus", open}, 2},
		{"conflicting flags", []string{"--json", "--ndjson", open}, 2},
		{"no such interface", []string{"--interface", "nope0", open}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tcpprobe(t, l, 20*time.Second, append([]string{"--schedule", "0,300ms/1s"}, tt.args...)...)
			if r.exit != tt.exit {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.exit, tt.exit, r.stdout, r.stderr)
			}
			if tt.exit >= 2 && (r.stdout != "" || strings.Count(r.stderr, "\n") != 1) {
				t.Errorf("want nothing on stdout and one line on stderr; stdout %q stderr %q", r.stdout, r.stderr)
			}
		})
	}
}

// TestCLIJUnit: the JUnit file of a lab run parses, one test case per
// probe, failures exactly where expectations were missed.
func TestCLIJUnit(t *testing.T) {
	l := labtest.New(t)
	open, closed, _, silent, _ := cliTargets()
	file := filepath.Join(t.TempDir(), "junit.xml")
	r := tcpprobe(t, l, 20*time.Second, "--schedule", "0/1s", "--junit", file, "--expect", "closed", open, closed, silent)
	if r.exit != 1 {
		t.Errorf("exit %d, want 1 (the open port is not closed)", r.exit)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc report.JUnitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("JUnit file: %v\n%s", err, data)
	}
	failed := map[string]bool{}
	for _, c := range doc.Suites[0].Cases {
		failed[c.Name] = c.Failure != nil
	}
	if diff := cmp.Diff(map[string]bool{open: true, closed: false, silent: false}, failed); diff != "" {
		t.Errorf("failed test cases (-want +got):\n%s", diff)
	}
	suites, err := junit.Ingest(data)
	if err != nil || len(suites) != 1 || suites[0].Totals.Tests != 3 || suites[0].Totals.Failed != 1 {
		t.Errorf("go-junit: %v %+v", err, suites)
	}
}

// TestCLIConnectMode: --mode connect gives the raw prober's outcomes for
// the same targets, from the kernel's connect().
func TestCLIConnectMode(t *testing.T) {
	l := labtest.New(t)
	open, closed, _, silent, local := cliTargets()
	got, r := probeJSON(t, l, 20*time.Second, "--mode", "connect", "--timeout", "1s", open, closed, silent, local)
	want := map[string]string{open: "open ", closed: "refused ECONNREFUSED", silent: "timeout ETIMEDOUT", local: "local-error EACCES"}
	seen := map[string]string{}
	for k, v := range got {
		seen[k] = v.Outcome + " " + v.Errno
		if v.Mode != "connect" {
			t.Errorf("%s: mode %q, want connect", k, v.Mode)
		}
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\nstderr: %s", diff, r.stderr)
	}
	if err := schema.Validate([]byte(r.stdout)); err != nil {
		t.Errorf("connect-mode output does not match the schema: %v", err)
	}
}

// TestCLICount: -c rounds in the lab, each a fresh SYN, with a summary.
func TestCLICount(t *testing.T) {
	l := labtest.New(t)
	open, _, _, _, _ := cliTargets()
	r := tcpprobe(t, l, 20*time.Second, "-c", "3", "--interval", "200ms", open)
	if r.exit != 0 || !strings.Contains(r.stdout, "3 probes sent, 3 answered, 0.0% loss (open 3)") || !strings.Contains(r.stdout, "rtt min/avg/max/stddev") {
		t.Errorf("exit %d\n%s%s", r.exit, r.stdout, r.stderr)
	}
	if r.took < 400*time.Millisecond {
		t.Errorf("3 rounds 200ms apart took %v", r.took)
	}
}

// TestSelftest runs `tcpprobe selftest` as root: exit 0, every class ok,
// and no tps- namespace left behind.
func TestSelftest(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("selftest needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) to build namespaces: run sudo go test ./internal/e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "selftest")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("selftest: %v\n%s", err, out)
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("selftest exit %d, want 0:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	if n := strings.Count(string(out), " ok\n"); n != 10 || !strings.Contains(string(out), "selftest passed") {
		t.Errorf("selftest: %d classes ok, want 10:\n%s", n, out)
	}
	left, _ := filepath.Glob("/run/netns/tps-*")
	if len(left) != 0 {
		t.Errorf("selftest left namespaces behind: %v", left)
	}
}
