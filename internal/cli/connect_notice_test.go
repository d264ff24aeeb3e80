package cli

import (
	"strings"
	"testing"
)

// TestConnectNotices: --mode connect says on stderr, once, which parts of
// the profile the kernel's connect(2) does not follow.
func TestConnectNotices(t *testing.T) {
	open, _ := loopbackPorts(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"linux", []string{"--profile", "linux"}, nil},
		{"classic", nil, []string{"SYN offsets 0s,6s,30s (profile classic) cannot apply", "ICMP policy rfc1122 (profile classic) cannot apply"}},
		{"bsd", []string{"--profile", "bsd"}, []string{"SYN offsets", "ICMP policy soft", "errno table of profile bsd cannot apply"}},
		{"--schedule", []string{"--profile", "linux", "--schedule", "0,300ms/1s"}, []string{"SYN offsets 0s,300ms (profile linux) cannot apply: the kernel sends its own (0s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"--mode", "connect", "-c", "2", "--interval", "20ms"}, tt.args...), open)
			got := runCmd(t, Env{}, "", args...)
			if got.code != ExitOK {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", got.code, got.stdout, got.stderr)
			}
			lines := strings.Split(strings.TrimSpace(got.stderr), "\n")
			if len(tt.want) == 0 {
				if got.stderr != "" {
					t.Errorf("stderr %q, want nothing", got.stderr)
				}
				return
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("stderr has %d lines, want %d (once per run):\n%s", len(lines), len(tt.want), got.stderr)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], "tcpprobe: notice: --mode connect: ") || !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want a notice saying %q", i, lines[i], w)
				}
			}
		})
	}
}
