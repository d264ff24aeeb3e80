package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/internal/privilege"
)

// TestPrivilegeDropped watches the running tcpprobe (issue 6,
// "Privilege"): by default, once its sockets are open, it holds no root id
// and no capability on any thread, and still probes; with
// --keep-privileges it stays as it was started.
func TestPrivilegeDropped(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		unprivileged bool
	}{
		{"default", nil, true},
		{"keep-privileges", []string{"--keep-privileges"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			args := append([]string{"--json", "--schedule", "0/3s", fmt.Sprintf("%s:%d", lab.ServerV4, lab.PortDrop)}, tt.args...)
			cmd := l.Command(ctx, l.Client, bin, args...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The SYN leaves at once; the probe then waits 3 s.
			time.Sleep(1 * time.Second)
			st, err := privilege.StatusOf(fmt.Sprintf("/proc/%d", cmd.Process.Pid))
			werr := cmd.Wait()
			if err != nil {
				t.Fatalf("reading tcpprobe's status: %v (exit: %v)\nstderr: %s", err, werr, errb.String())
			}
			t.Logf("tcpprobe %s while probing: %v", strings.Join(tt.args, " "), st)
			if st.Unprivileged() != tt.unprivileged {
				t.Errorf("unprivileged = %v, want %v: %v", st.Unprivileged(), tt.unprivileged, st)
			}
			if tt.unprivileged && !st.NoNewPrivs {
				t.Errorf("no_new_privs not set on every thread: %v", st)
			}
			if !tt.unprivileged && st.UIDs[1] != 0 {
				t.Errorf("--keep-privileges: euid %d, want 0", st.UIDs[1])
			}
			if werr == nil || !strings.Contains(out.String(), `"outcome": "timeout"`) && !strings.Contains(out.String(), `"outcome":"timeout"`) {
				t.Errorf("the probe did not end as a timeout (exit %v)\nstdout: %s\nstderr: %s", werr, out.String(), errb.String())
			}
		})
	}
}
