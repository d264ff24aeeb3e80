package kconnect

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

func TestClassify(t *testing.T) {
	type row struct {
		Outcome probe.Outcome
		Reason  string
	}
	tests := []struct {
		errno syscall.Errno
		sync  bool
		want  row
	}{
		{0, false, row{probe.Open, probe.ReasonSYNACK}},
		{syscall.ECONNREFUSED, false, row{probe.Refused, ReasonRefused}},
		{syscall.ETIMEDOUT, false, row{probe.Timeout, probe.ReasonTimeout}},
		{syscall.EHOSTUNREACH, false, row{probe.Unreachable, ReasonError}},
		{syscall.EHOSTUNREACH, true, row{probe.LocalError, probe.ReasonRouteUnreach}},
		{syscall.EACCES, true, row{probe.LocalError, probe.ReasonRouteProhibit}},
		{syscall.EINVAL, true, row{probe.LocalError, probe.ReasonRouteBlackhol}},
		{syscall.ENETUNREACH, true, row{probe.LocalError, probe.ReasonNoRoute}},
	}
	for _, tt := range tests {
		o, r := classify(tt.errno, tt.sync)
		if diff := cmp.Diff(tt.want, row{o, r}); diff != "" {
			t.Errorf("classify(%v, sync=%v) (-want +got):\n%s", tt.errno, tt.sync, diff)
		}
	}
}

// TestRunLoopback connects to an open and a closed loopback port: no
// privilege needed.
func TestRunLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := netip.MustParseAddrPort(l2.Addr().String())
	l2.Close()
	open := netip.MustParseAddrPort(ln.Addr().String())
	p := probe.Classic()
	p.Schedule = p.Schedule.Cut(2 * time.Second)
	got := map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = New(Config{Profile: p, Concurrency: 1}).Run(ctx, []probe.Target{{Name: "open", Addr: open}, {Name: "closed", Addr: closed}}, func(r *probe.Result) {
		got[r.Target] = string(r.Outcome) + " " + probe.ErrnoName(r.Errno) + " " + strconv.Itoa(r.Index)
		if r.Outcome == probe.Open && (r.RTT <= 0 || !r.Teardown || r.SrcPort == 0) {
			t.Errorf("open result lacks RTT, teardown or source port: %+v", r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"open": "open  0", "closed": "refused ECONNREFUSED 1"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestBindErrorNamed: a connect that cannot even bind (the source port is
// a listener's) is a local error whose errno has its name, not "errno 98".
func TestBindErrorNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := netip.MustParseAddrPort(ln.Addr().String())
	p := probe.Classic()
	p.Schedule = p.Schedule.Cut(time.Second)
	var got *probe.Result
	err = New(Config{Profile: p, Source: held.Addr(), SourcePort: held.Port()}).Run(context.Background(),
		[]probe.Target{{Name: "t", Addr: held}}, func(r *probe.Result) { got = r })
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != probe.LocalError || probe.ErrnoName(got.Errno) != "EADDRINUSE" || got.Responder.IsValid() || len(got.Attempts) != 0 {
		t.Errorf("%s %s (%s) responder %v attempts %d; want local-error EADDRINUSE, no responder, no SYN",
			got.Outcome, probe.ErrnoName(got.Errno), got.Reason, got.Responder, len(got.Attempts))
	}
}
