package kconnect

import (
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

func TestNotices(t *testing.T) {
	kernel := probe.LinuxSchedule(6, 4)
	custom := probe.Linux(6, 4)
	custom.Schedule = probe.Schedule{SYNs: []time.Duration{0, 500 * time.Millisecond}, GiveUp: 2 * time.Second}
	cut := probe.Linux(6, 4)
	cut.Schedule = cut.Schedule.Cut(2500 * time.Millisecond)
	tests := []struct {
		name string
		p    probe.Profile
		want []string // a piece of each notice, in order
	}{
		{"linux", probe.Linux(6, 4), nil},
		{"linux cut by --timeout", cut, nil},
		{"classic", probe.Classic(), []string{"SYN offsets 0s,6s,30s (profile classic) cannot apply: the kernel sends its own (0s,1s,2s,3s,4s,5s,7s,11s,19s,35s,1m7s); only the give-up time 1m15s applies", "ICMP policy rfc1122"}},
		{"bsd", probe.BSD(), []string{"SYN offsets", "ICMP policy soft", "errno table of profile bsd"}},
		{"--schedule", custom, []string{"SYN offsets 0s,500ms (profile linux) cannot apply: the kernel sends its own (0s,1s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Notices(Config{Profile: tt.p, Kernel: kernel})
			if len(got) != len(tt.want) {
				t.Fatalf("Notices = %q, want %d notices", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("notice %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}
