package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// TestWithoutCapNetRaw runs the real binary as nobody, without
// CAP_NET_RAW: auto mode says why on stderr and probes with the kernel's
// connect(2); --mode raw refuses with the environment's exit code and the
// command that grants the capability.
func TestWithoutCapNetRaw(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	// The binary's directory is private to root (os.MkdirTemp); nobody
	// needs a copy it can execute.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "tcpprobe")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	nobody := []string{"--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--inh-caps=-all", exe}
	open, closed := lab.ServerV4.String()+":80", lab.ServerV4.String()+":81"

	r := runIn(t, l, 20*time.Second, "setpriv", append(nobody, "--json", "--schedule", "0/1s", open, closed)...)
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("auto mode as nobody: not a JSON document (%v)\nexit %d\nstdout %s\nstderr %s", err, r.exit, r.stdout, r.stderr)
	}
	got := map[string]string{}
	for _, res := range doc.Results {
		got[res.Target] = res.Outcome + "/" + res.Mode
	}
	if got[open] != "open/connect" || got[closed] != "refused/connect" {
		t.Errorf("auto mode as nobody: %v, want open and refused through connect(2)", got)
	}
	if !strings.Contains(r.stderr, "raw sockets are not allowed") || !strings.Contains(r.stderr, "--mode connect") {
		t.Errorf("auto mode as nobody: stderr does not say why it fell back: %q", r.stderr)
	}

	r = runIn(t, l, 20*time.Second, "setpriv", append(nobody, "--mode", "raw", "--schedule", "0/1s", open)...)
	if r.exit != 3 || !strings.Contains(r.stderr, "CAP_NET_RAW") || !strings.Contains(r.stderr, "setcap cap_net_raw+ep") {
		t.Errorf("--mode raw as nobody: exit %d, stderr %q; want 3 and how to grant CAP_NET_RAW", r.exit, r.stderr)
	}
}
