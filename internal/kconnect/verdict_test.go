package kconnect

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

// TestVerdict: connect mode says what the kernel told and nothing more,
// in the outcome class raw mode gives for the same cause.
func TestVerdict(t *testing.T) {
	target := netip.MustParseAddr("198.18.2.2")
	router := netip.MustParseAddr("198.18.1.1")
	self := netip.MustParseAddr("198.18.1.2")
	local := func(a netip.Addr) bool { return a == self }
	type row struct {
		Outcome   probe.Outcome
		Reason    string
		Responder string
	}
	tests := []struct {
		name  string
		errno syscall.Errno
		qe    *icmpError
		want  row
	}{
		{"open", 0, nil, row{probe.Open, probe.ReasonSYNACK, "198.18.2.2"}},
		{"rst", syscall.ECONNREFUSED, nil, row{probe.Refused, probe.ReasonRST, "198.18.2.2"}},
		{"port unreachable", syscall.ECONNREFUSED, &icmpError{Type: 3, Code: 3, From: router}, row{probe.Refused, "icmp-port-unreachable", "198.18.1.1"}},
		{"host unreachable from a router", syscall.EHOSTUNREACH, &icmpError{Type: 3, Code: 1, From: router}, row{probe.Unreachable, "icmp-host-unreachable", "198.18.1.1"}},
		{"admin prohibited", syscall.EHOSTUNREACH, &icmpError{Type: 3, Code: 13, From: router}, row{probe.Unreachable, "icmp-admin-prohibited", "198.18.1.1"}},
		{"v6 no route", syscall.ENETUNREACH, &icmpError{V6: true, Type: 1, Code: 0, From: netip.MustParseAddr("fd00:1::1")}, row{probe.Unreachable, "icmp6-no-route", "fd00:1::1"}},
		{"neighbour failure here", syscall.EHOSTUNREACH, &icmpError{Type: 3, Code: 1, From: self}, row{probe.LocalError, probe.ReasonNeighbor, "invalid IP"}},
		{"v6 neighbour failure here", syscall.EHOSTUNREACH, &icmpError{V6: true, Type: 1, Code: 3, From: self}, row{probe.LocalError, probe.ReasonNeighbor, "invalid IP"}},
		{"unreachable, no ICMP queued", syscall.EHOSTUNREACH, nil, row{probe.Unreachable, ReasonError, "invalid IP"}},
		{"timeout", syscall.ETIMEDOUT, nil, row{probe.Timeout, probe.ReasonTimeout, "invalid IP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reason, from := verdict(tt.errno, tt.qe, target, local)
			if diff := cmp.Diff(tt.want, row{o, reason, from.String()}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAttempts(t *testing.T) {
	start := time.Unix(1000, 0)
	kernel := probe.LinuxSchedule(6, 4) // 0,1,2,3,4,5,7,… s
	ms := func(ts []time.Time) []time.Duration {
		var out []time.Duration
		for _, t := range ts {
			out = append(out, t.Sub(start))
		}
		return out
	}
	tests := []struct {
		name string
		n    int
		end  time.Duration
		want []time.Duration
	}{
		{"one SYN", 1, 100 * time.Millisecond, []time.Duration{0}},
		{"no count", 0, time.Second, []time.Duration{0}},
		{"three SYNs", 3, 2500 * time.Millisecond, []time.Duration{0, time.Second, 2 * time.Second}},
		{"cut at the end", 3, 1500 * time.Millisecond, []time.Duration{0, time.Second, 1500 * time.Millisecond}},
		{"past the schedule", 13, 500 * time.Second, append(append([]time.Duration{}, kernel.SYNs...), kernel.SYNs[len(kernel.SYNs)-1], kernel.SYNs[len(kernel.SYNs)-1])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ms(attempts(tt.n, start, start.Add(tt.end), kernel))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
