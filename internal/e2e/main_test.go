// Package e2e runs the real tcpprobe binary inside the namespace lab
// (internal/lab) and checks what it reports against what the kernel and
// the lab's scenarios say it must.
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
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/report"
)

// bin is the tcpprobe binary built once for the whole package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tcpprobe-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "tcpprobe")
	// CGO_ENABLED=0 as README builds it: without libc's threads the
	// privilege drop reaches every thread (syscall.AllThreadsSyscall).
	build := exec.Command("go", "build", "-o", bin, "github.com/tcpprobe/tcpprobe/cmd/tcpprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building tcpprobe: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run is one tcpprobe invocation in a lab namespace.
type run struct {
	exit   int
	stdout string
	stderr string
	took   time.Duration
}

// tcpprobe runs the binary in the lab's client namespace with args and a
// time bound.
func tcpprobe(t *testing.T, l *lab.Lab, limit time.Duration, args ...string) run {
	t.Helper()
	return runIn(t, l, limit, bin, args...)
}

// startLines starts tcpprobe with args in the lab's client namespace
// under ctx, and returns it, a scanner over the lines it prints (up to 1
// MiB each) and what it writes to stderr; the caller reads the lines and
// waits for it.
func startLines(t *testing.T, ctx context.Context, l *lab.Lab, args ...string) (*exec.Cmd, *bufio.Scanner, *strings.Builder) {
	t.Helper()
	cmd := l.Command(ctx, l.Client, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tcpprobe: %v", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return cmd, sc, stderr
}

// runIn runs name with args in the lab's client namespace with a time
// bound; a failure to run at all (or running out of time) fails the test.
func runIn(t *testing.T, l *lab.Lab, limit time.Duration, name string, args ...string) run {
	t.Helper()
	r, err := runBounded(limit, func(ctx context.Context) *exec.Cmd { return l.Command(ctx, l.Client, name, args...) })
	if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), err)
	}
	return r
}

// runBounded runs the command mk makes for a context that ends after
// limit. An exit status is not an error; failing to run at all, or running
// out of time, is.
func runBounded(limit time.Duration, mk func(ctx context.Context) *exec.Cmd) (run, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := mk(ctx)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.exit = ee.ExitCode()
	default:
		return r, fmt.Errorf("%v (after %v)\nstderr: %s", err, r.took, r.stderr)
	}
	return r, nil
}

// probeJSON runs tcpprobe --json and returns its results by target.
func probeJSON(t *testing.T, l *lab.Lab, limit time.Duration, args ...string) (map[string]*report.Result, run) {
	t.Helper()
	r := tcpprobe(t, l, limit, append([]string{"--json"}, args...)...)
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("tcpprobe %s: output is not a JSON document (%v)\nexit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, r.exit, r.stdout, r.stderr)
	}
	if doc.Schema != report.Schema {
		t.Errorf("schema %q, want %q", doc.Schema, report.Schema)
	}
	got := map[string]*report.Result{}
	for _, res := range doc.Results {
		got[res.Target] = res
	}
	return got, r
}
