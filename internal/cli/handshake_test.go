package cli

import (
	"strings"
	"testing"

	"github.com/tcpprobe/tcpprobe/probe/probetest"
)

// TestLifeFlagErrors: the connection-life flags are checked before
// anything is sent: exit 2, one line that says what to do, no packet.
func TestLifeFlagErrors(t *testing.T) {
	target := tgt(probetest.Server4, 80)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--handshake", "half"}, "want syn or full"},
		{[]string{"--scan", "fin"}, "want syn or ack"},
		{[]string{"--send", "x"}, "need --handshake full"},
		{[]string{"--close", "rst"}, "need --handshake full"},
		{[]string{"--hold", "1s"}, "need --handshake full"},
		{[]string{"--handshake", "full", "--scan", "ack"}, "cannot be used together"},
		{[]string{"--handshake", "full", "--close", "linger"}, "want fin or rst"},
		{[]string{"--handshake", "full", "--send", `bad\q`}, "unknown escape"},
		{[]string{"--handshake", "full", "--send", "@/nonexistent/file"}, "--send @/nonexistent/file"},
		{[]string{"--handshake", "full", "--expect-banner", "("}, "--expect-banner"},
		{[]string{"--handshake", "full", "--mode", "connect"}, "--mode connect"},
		{[]string{"--scan", "ack", "-c", "2"}, "not supported"},
		{[]string{"--expect", "sideways"}, "unfiltered, filtered"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			n, env := fake()
			got := runCmd(t, env, "", append(tc.args, target)...)
			if got.code != 2 || !strings.Contains(got.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q: want 2 and %q", got.code, got.stderr, tc.want)
			}
			if s := n.Sent(); len(s) != 0 {
				t.Errorf("%d packets sent", len(s))
			}
		})
	}
}

func TestListenersFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"listeners", "--count", "2"},
		{"listeners", "--watch", "-1s"},
		{"listeners", "--syn-flood-min", "0"},
		{"listeners", "extra"},
	} {
		_, env := fake()
		if got := runCmd(t, env, "", args...); got.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, got.code, got.stderr)
		}
	}
}
