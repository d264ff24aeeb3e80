package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

func TestProbeMetrics(t *testing.T) {
	f := &fakeRunner{}
	_, hs := newTestServer(t, "limits: {min_interval: 0s}\n", f)
	tests := []struct {
		target     string
		success    float64
		info       map[string]string
		errno      float64
		withSYNACK bool
	}{
		{"127.0.0.1:80", 1, map[string]string{"outcome": "open", "errno": "", "reason": "syn-ack", "responder": "127.0.0.1", "profile": "classic", "mode": "raw"}, 0, true},
		{"127.0.0.1:81", 0, map[string]string{"outcome": "refused", "errno": "ECONNREFUSED", "reason": "rst", "responder": "127.0.0.1", "profile": "classic", "mode": "raw"}, 111, false},
		{"[::1]:443", 0, map[string]string{"outcome": "refused", "errno": "ECONNREFUSED", "reason": "rst", "responder": "::1", "profile": "classic", "mode": "raw"}, 111, false},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			code, body := get(t, hs.Client(), hs.URL+"/probe?target="+tc.target, nil)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			mfs := parseMetrics(t, body)
			if v, _ := value(mfs, "probe_success"); v != tc.success {
				t.Errorf("probe_success %v, want %v", v, tc.success)
			}
			if diff := cmp.Diff(tc.info, labels(mfs, "tcpprobe_result_info")); diff != "" {
				t.Errorf("tcpprobe_result_info labels (-want +got):\n%s", diff)
			}
			if v, _ := value(mfs, "tcpprobe_errno"); v != tc.errno {
				t.Errorf("tcpprobe_errno %v, want %v", v, tc.errno)
			}
			want := 4.0
			if strings.HasPrefix(tc.target, "[") {
				want = 6
			}
			if v, _ := value(mfs, "probe_ip_protocol"); v != want {
				t.Errorf("probe_ip_protocol %v, want %v", v, want)
			}
			for _, name := range []string{"probe_duration_seconds", "tcpprobe_syn_attempts", "tcpprobe_connect_seconds", "tcpprobe_soft_error", "tcpprobe_expectation_met"} {
				if _, ok := value(mfs, name); !ok {
					t.Errorf("%s missing", name)
				}
			}
			for _, name := range []string{"tcpprobe_synack_ttl", "tcpprobe_synack_window", "tcpprobe_synack_mss", "tcpprobe_rtt_seconds"} {
				if _, ok := value(mfs, name); ok != tc.withSYNACK {
					t.Errorf("%s present %v, want %v", name, ok, tc.withSYNACK)
				}
			}
		})
	}
}

func TestProbeRefusals(t *testing.T) {
	f := &fakeRunner{}
	_, hs := newTestServer(t, "targets: {allow: [198.18.2.0/24, 'fd00:2::/64']}\n", f)
	tests := []struct {
		query  string
		status int
	}{
		{"target=198.18.2.2:80", http.StatusOK},
		{"target=[fd00:2::2]:80", http.StatusOK},
		{"target=198.18.3.2:80", http.StatusForbidden},          // outside allow
		{"target=127.0.0.1:80", http.StatusForbidden},           // loopback is not allowed once allow is written
		{"target=[fd00:3::2]:80", http.StatusForbidden},         // outside allow
		{"target=[::ffff:198.18.3.2]:80", http.StatusForbidden}, // mapped: judged as IPv4
		{"target=198.18.2.2:80&module=nope", http.StatusBadRequest},
		{"target=198.18.2.2", http.StatusBadRequest},
		{"target=198.18.2.2:0", http.StatusBadRequest},
		{"", http.StatusBadRequest},
	}
	for _, tc := range tests {
		code, body := get(t, hs.Client(), hs.URL+"/probe?"+tc.query, nil)
		if code != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.query, code, tc.status, body)
		}
	}
	// Only the two allowed targets reached the prober: nothing was sent
	// for the others.
	if n := f.numCalls(); n != 2 {
		t.Errorf("the prober ran %d probes, want 2 (only the allowed targets)", n)
	}
	_, body := get(t, hs.Client(), hs.URL+"/metrics", nil)
	mfs := parseMetrics(t, body)
	got := map[string]float64{}
	for _, m := range mfs["tcpprobe_exporter_refusals_total"].GetMetric() {
		got[m.Label[0].GetValue()] = m.Counter.GetValue()
	}
	want := map[string]float64{RefusedNotAllowed: 4, RefusedUnknownModule: 1, RefusedBadTarget: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tcpprobe_exporter_refusals_total (-want +got):\n%s", diff)
	}
}

func TestDefaultAllowIsLoopback(t *testing.T) {
	c, err := Parse([]byte(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"} {
		if !c.Allowed(mustAddr(a)) {
			t.Errorf("%s refused by the default allow list", a)
		}
	}
	for _, a := range []string{"198.18.2.2", "fd00::1", "::2"} {
		if c.Allowed(mustAddr(a)) {
			t.Errorf("%s allowed by the default allow list, want loopback only", a)
		}
	}
}

func TestScrapeTimeoutHeader(t *testing.T) {
	f := &fakeRunner{}
	_, hs := newTestServer(t, `limits: {min_interval: 0s, timeout_offset: 500ms}
modules:
  short: {timeout: 1s}
  linux: {profile: linux}
`, f)
	tests := []struct {
		module, header string
		giveUp         time.Duration
		syns           int
	}{
		{"default", "3", 2500 * time.Millisecond, 1}, // classic 0,6s,30s/75s cut at 3s-0.5s
		{"default", "", 9500 * time.Millisecond, 2},  // no header: 10s-0.5s
		{"default", "40.5", 40 * time.Second, 3},     // cut at 40s: all three SYNs
		{"default", "100", 75 * time.Second, 3},      // the profile's own give-up is sooner
		{"short", "10", time.Second, 1},              // the module's timeout caps
		{"linux", "4.5", 4 * time.Second, 4},         // 0,1,2,3 (tcp_syn_linear_timeouts=4)
	}
	for i, tc := range tests {
		hdr := map[string]string{}
		if tc.header != "" {
			hdr[ScrapeTimeoutHeader] = tc.header
		}
		code, body := get(t, hs.Client(), fmt.Sprintf("%s/probe?target=127.0.0.1:%d&module=%s", hs.URL, 100+2*i, tc.module), hdr)
		if code != http.StatusOK {
			t.Fatalf("%+v: status %d: %s", tc, code, body)
		}
		f.mu.Lock()
		p := f.calls[len(f.calls)-1].Profile
		f.mu.Unlock()
		// The budget is what is left of the timeout when the probe
		// starts: a little under it.
		if p.Schedule.GiveUp > tc.giveUp || p.Schedule.GiveUp < tc.giveUp-time.Second {
			t.Errorf("%+v: give-up %v, want just under %v", tc, p.Schedule.GiveUp, tc.giveUp)
		}
		if len(p.Schedule.SYNs) != tc.syns {
			t.Errorf("%+v: schedule %v, want %d SYNs", tc, p.Schedule, tc.syns)
		}
	}
	for _, bad := range []string{"x", "-1", "0", "NaN", "Inf", "1e9"} {
		code, _ := get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80", map[string]string{ScrapeTimeoutHeader: bad})
		if code != http.StatusBadRequest {
			t.Errorf("header %q: status %d, want 400", bad, code)
		}
	}
}

func TestConcurrentScrapes(t *testing.T) {
	const scrapes, limit = 200, 8
	f := &fakeRunner{delay: 5 * time.Millisecond}
	s, hs := newTestServer(t, fmt.Sprintf("limits: {concurrency: %d, queue: %d, min_interval: 0s}\n", limit, scrapes), f)
	hs.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = scrapes
	var wg sync.WaitGroup
	errs := make(chan error, scrapes)
	for i := range scrapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			port := 1000 + i
			code, body := get(t, hs.Client(), fmt.Sprintf("%s/probe?target=127.0.0.1:%d", hs.URL, port), map[string]string{ScrapeTimeoutHeader: "30"})
			if code != http.StatusOK {
				errs <- fmt.Errorf("port %d: status %d: %s", port, code, body)
				return
			}
			want := "refused"
			if port%2 == 0 {
				want = "open"
			}
			mfs := parseMetrics(t, body)
			if got := labels(mfs, "tcpprobe_result_info")["outcome"]; got != want {
				errs <- fmt.Errorf("port %d: outcome %q, want %q", port, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.numCalls(); n != scrapes {
		t.Errorf("%d probes run, want %d", n, scrapes)
	}
	_, _, peak := s.gate.counts()
	if peak > limit || f.peak > limit {
		t.Errorf("probes in flight peaked at %d (prober saw %d), want at most %d", peak, f.peak, limit)
	}
	if peak < 2 || f.peak < 2 {
		t.Errorf("probes in flight peaked at %d (prober saw %d): 200 concurrent scrapes never ran two probes at once", peak, f.peak)
	}
}

// blockRunner holds every probe until release is closed.
type blockRunner struct{ release chan struct{} }

func (b blockRunner) Run(ctx context.Context, ts []probe.Target, emit func(*probe.Result)) error {
	<-b.release
	for i, t := range ts {
		emit(fakeResult(t, i))
	}
	return nil
}

func TestQueueFull(t *testing.T) {
	br := blockRunner{release: make(chan struct{})}
	s, hs := newTestServer(t, "limits: {concurrency: 1, queue: 1, min_interval: 0s}\n", br)
	codes := make(chan int, 2)
	for i := range 2 {
		go func() {
			code, _ := get(t, hs.Client(), fmt.Sprintf("%s/probe?target=127.0.0.1:%d", hs.URL, 10+i), map[string]string{ScrapeTimeoutHeader: "60"})
			codes <- code
		}()
	}
	// One probe runs, one scrape waits: the third is turned away.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if running, queued, _ := s.gate.counts(); running == 1 && queued == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("two scrapes did not fill the slot and the queue within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, body := get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:12", nil); code != http.StatusServiceUnavailable {
		t.Errorf("third scrape: status %d, want 503: %s", code, body)
	}
	close(br.release)
	for range 2 {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("a running or queued scrape got %d, want 200", code)
		}
	}
}

func TestMinIntervalReusesResult(t *testing.T) {
	f := &fakeRunner{delay: 100 * time.Millisecond}
	_, hs := newTestServer(t, "limits: {min_interval: 1m}\n", f)
	var wg sync.WaitGroup
	bodies := make([]string, 5)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bodies[i] = get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80", nil)
		}()
	}
	wg.Wait()
	_, after := get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80", nil)
	if n := f.numCalls(); n != 1 {
		t.Errorf("a burst of 6 scrapes of one target ran %d probes, want 1", n)
	}
	reused := 0
	for _, b := range append(bodies, after) {
		mfs := parseMetrics(t, b)
		if v, _ := value(mfs, "probe_success"); v != 1 {
			t.Errorf("probe_success %v in a shared answer, want 1", v)
		}
		v, _ := value(mfs, "tcpprobe_result_reused")
		reused += int(v)
	}
	if reused != 5 {
		t.Errorf("%d answers marked reused, want 5", reused)
	}
	// Another module is another probe.
	get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80&module=default", nil)
	if n := f.numCalls(); n != 1 {
		t.Errorf("the same module named explicitly ran a new probe (%d)", n)
	}
}

func TestDebugTimeline(t *testing.T) {
	_, hs := newTestServer(t, "", &fakeRunner{})
	code, body := get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80&debug=true", nil)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	for _, want := range []string{"127.0.0.1:80 open", "probe_success 1", "Module configuration:"} {
		if !strings.Contains(body, want) {
			t.Errorf("debug output lacks %q:\n%s", want, body)
		}
	}
}

// envFailRunner cannot probe at all, as a Prober without CAP_NET_RAW.
type envFailRunner struct{}

func (envFailRunner) Run(context.Context, []probe.Target, func(*probe.Result)) error {
	return &probe.EnvError{Err: errors.New("socket: operation not permitted"), Fallback: true}
}

func TestConnectFallback(t *testing.T) {
	fb := &fakeRunner{}
	s, err := New(Options{ConfigPath: writeConfig(t, t.TempDir(), "modules:\n  kernel: {mode: connect}\n"), Raw: envFailRunner{}, Logger: testLogger(t),
		Connect: func(probe.Profile) Runner { return fb }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	for _, module := range []string{"default", "kernel"} {
		code, body := get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80&module="+module, nil)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", module, code, body)
		}
		mfs := parseMetrics(t, body)
		if l := labels(mfs, "tcpprobe_result_info"); l["mode"] != "connect" || l["outcome"] != "open" {
			t.Errorf("%s: result labels %v, want outcome open in mode connect", module, l)
		}
	}
	if n := fb.numCalls(); n != 2 {
		t.Errorf("connect(2) ran %d probes, want 2", n)
	}
}

// neighRunner reports every target's next hop as never answering, as an
// unprivileged Prober does for a next hop the kernel has not resolved.
type neighRunner struct{}

func (neighRunner) Run(_ context.Context, ts []probe.Target, emit func(*probe.Result)) error {
	for i, t := range ts {
		emit(&probe.Result{Target: t.Name, Index: i, Addr: t.Addr.Addr(), Port: t.Addr.Port(),
			Outcome: probe.LocalError, Errno: syscall.EHOSTUNREACH, Reason: probe.ReasonNeighbor})
	}
	return nil
}

func TestNeighborFailureRecheckedWithoutPrivilege(t *testing.T) {
	for _, unpriv := range []bool{false, true} {
		fb := &fakeRunner{}
		s, err := New(Options{ConfigPath: writeConfig(t, t.TempDir(), ""), Raw: neighRunner{}, Logger: testLogger(t),
			Unprivileged: unpriv, Connect: func(probe.Profile) Runner { return fb }})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s.Handler())
		_, body := get(t, hs.Client(), hs.URL+"/probe?target=127.0.0.1:80", nil)
		hs.Close()
		want := map[string]string{"outcome": "local-error", "reason": "neighbor-unreachable", "mode": "raw"}
		if unpriv {
			want = map[string]string{"outcome": "open", "reason": "syn-ack", "mode": "connect"}
		}
		l := labels(parseMetrics(t, body), "tcpprobe_result_info")
		got := map[string]string{"outcome": l["outcome"], "reason": l["reason"], "mode": l["mode"]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("unprivileged %v (-want +got):\n%s", unpriv, diff)
		}
	}
}
