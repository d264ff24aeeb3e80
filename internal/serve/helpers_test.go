package serve

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// fakeRunner answers every probe from the target's port: even ports are
// open, odd ones refused, after delay; it counts calls and concurrency.
type fakeRunner struct {
	delay time.Duration

	mu sync.Mutex
	// Following fields protected by mu.
	calls     []probe.Target
	cur, peak int
}

func (f *fakeRunner) Run(ctx context.Context, ts []probe.Target, emit func(*probe.Result)) error {
	f.mu.Lock()
	f.calls = append(f.calls, ts...)
	f.cur++
	f.peak = max(f.peak, f.cur)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.cur--
		f.mu.Unlock()
	}()
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
	}
	for i, t := range ts {
		emit(fakeResult(t, i))
	}
	return nil
}

func (f *fakeRunner) numCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func fakeResult(t probe.Target, i int) *probe.Result {
	now := time.Now()
	r := &probe.Result{Target: t.Name, Index: i, Addr: t.Addr.Addr(), Port: t.Addr.Port(), Expect: t.Expect,
		Started: now, Finished: now.Add(time.Millisecond), Attempts: []time.Time{now}}
	if t.Profile != nil {
		r.Profile, r.Schedule = t.Profile.Name, t.Profile.Schedule
	}
	if t.Addr.Port()%2 == 0 {
		r.Outcome, r.Reason, r.RTT, r.Responder = probe.Open, probe.ReasonSYNACK, 300*time.Microsecond, t.Addr.Addr()
		r.SYNACK = &probe.SYNACK{TTL: 63, Window: 65160, Options: wire.Options{HasMSS: true, MSS: 1460}}
	} else {
		r.Outcome, r.Errno, r.Reason, r.Responder = probe.Refused, syscall.ECONNREFUSED, probe.ReasonRST, t.Addr.Addr()
	}
	r.Events = []probe.Event{{Time: now.Add(time.Millisecond), Dir: probe.Received, Effect: probe.EffectDecided}}
	return r
}

// writeConfig writes a config file readable by anyone and returns its path.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "tcpprobe.yml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testLogger logs to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// newTestServer builds a Server on config body with runner r, served by
// an httptest server.
func newTestServer(t *testing.T, body string, r Runner) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Options{ConfigPath: writeConfig(t, t.TempDir(), body), Raw: r, Logger: testLogger(t),
		Sysctls: func() (int, int, error) { return 6, 4, nil }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

// get fetches url with optional headers and returns status and body.
func get(t *testing.T, c *http.Client, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// parseMetrics reads the exposition format.
func parseMetrics(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not the exposition format: %v\n%s", err, body)
	}
	return mfs
}

// value is the value of the single sample of a gauge or counter family;
// ok false when the family is missing.
func value(mfs map[string]*dto.MetricFamily, name string) (float64, bool) {
	mf := mfs[name]
	if mf == nil || len(mf.Metric) == 0 {
		return 0, false
	}
	m := mf.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	}
	return 0, false
}

// labels returns the labels of a family's first sample.
func labels(mfs map[string]*dto.MetricFamily, name string) map[string]string {
	mf := mfs[name]
	if mf == nil || len(mf.Metric) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, l := range mf.Metric[0].Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
