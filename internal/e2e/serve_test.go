package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/internal/privilege"
)

// Addresses of the exporter and of Prometheus inside the client namespace.
const (
	serveAddr      = "127.0.0.1:9117"
	prometheusAddr = "127.0.0.1:9090"
)

// serveConfig allows the server's networks and the client's own failing
// routes, with modules cut short so the test stays fast.
const serveConfig = `targets:
  allow: [198.18.2.0/24, "fd00:2::/64", 198.18.20.0/24, "fd00:23::/64"]
limits:
  concurrency: 16
  min_interval: 0s
  timeout_offset: 200ms
modules:
  linux: {profile: linux, timeout: 400ms}
  classic: {profile: classic, timeout: 400ms}
`

// relabel is the standard multi-target relabelling: the target becomes the
// target parameter and the instance label, the exporter the address.
const relabel = `    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: ` + serveAddr + "\n"

// want is what Prometheus must hold for one probed target.
type promWant struct {
	Success string
	Outcome string
	Errno   string
	Reason  string
	Soft    string
}

// servedTargets are targets of every outcome class, probed by the linux
// profile (every ICMP error ends the probe at once).
var servedTargets = map[string]promWant{
	"198.18.2.2:80":   {"1", "open", "", "syn-ack", "0"},
	"[fd00:2::2]:80":  {"1", "open", "", "syn-ack", "0"},
	"198.18.2.2:81":   {"0", "refused", "ECONNREFUSED", "rst", "0"},
	"198.18.2.2:82":   {"0", "refused", "ECONNREFUSED", "icmp-port-unreachable", "0"},
	"198.18.2.2:84":   {"0", "unreachable", "EHOSTUNREACH", "icmp-admin-prohibited", "0"},
	"[fd00:2::2]:84":  {"0", "unreachable", "EACCES", "icmp6-admin-prohibited", "0"},
	"[fd00:2::2]:86":  {"0", "unreachable", "ENETUNREACH", "icmp6-no-route", "0"},
	"198.18.2.2:87":   {"0", "timeout", "ETIMEDOUT", "timeout", "0"},
	"198.18.20.1:80":  {"0", "local-error", "EHOSTUNREACH", "route-unreachable", "0"},
	"[fd00:23::1]:80": {"0", "local-error", "ENETUNREACH", "no-route", "0"},
}

// classicTarget is probed by the classic profile: the admin-prohibited
// ICMP is a soft error, saved and reported at the give-up time.
const classicTarget = "198.18.2.2:84"

var classicWant = promWant{"0", "unreachable", "EHOSTUNREACH", "icmp-admin-prohibited", "1"}

func prometheusConfig() string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 2s\n  scrape_timeout: 1500ms\n  evaluation_interval: 1m\nscrape_configs:\n")
	b.WriteString("  - job_name: tcpprobe\n    metrics_path: /probe\n    params: {module: [linux]}\n    static_configs:\n      - targets:\n")
	for t := range servedTargets {
		fmt.Fprintf(&b, "          - %q\n", t)
	}
	b.WriteString(relabel)
	fmt.Fprintf(&b, "  - job_name: tcpprobe-classic\n    metrics_path: /probe\n    params: {module: [classic]}\n    static_configs:\n      - targets: [%q]\n", classicTarget)
	b.WriteString(relabel)
	fmt.Fprintf(&b, "  - job_name: tcpprobe-exporter\n    static_configs:\n      - targets: [%q]\n", serveAddr)
	return b.String()
}

// nsClient is an HTTP client whose connections are made inside ns.
func nsClient(l *lab.Lab, ns string) *http.Client {
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DialContext: l.DialContext(ns)},
	}
}

// lockedBuffer collects a process's output for the test's failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// startInClient starts name in the lab's client namespace; the lab kills
// it at cleanup.
func startInClient(t *testing.T, l *lab.Lab, name string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := l.Command(ctx, l.Client, name, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go cmd.Wait()
	return cmd, out
}

// waitHTTP polls url until it answers 200, for at most limit.
func waitHTTP(t *testing.T, c *http.Client, u string, limit time.Duration, out *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %v (last: %v)\noutput:\n%s", u, limit, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// promVector queries Prometheus and returns each sample's labels with its
// value under "__value__".
func promVector(t *testing.T, c *http.Client, query string) []map[string]string {
	t.Helper()
	resp, err := c.Get("http://" + prometheusAddr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: status %q, %v", query, r.Status, err)
	}
	var out []map[string]string
	for _, s := range r.Data.Result {
		m := s.Metric
		m["__value__"], _ = s.Value[1].(string)
		out = append(out, m)
	}
	return out
}

// TestServePrometheus runs a real Prometheus server (Debian's prometheus)
// scraping `tcpprobe serve` through the standard relabelling, both in the
// lab's client namespace, for targets of every outcome class, and reads
// each target's verdict back from Prometheus's HTTP API. The same exporter
// then refuses a target outside targets.allow without sending anything,
// answers 200 concurrent scrapes right with bounded probes in flight, and
// runs without privilege.
func TestServePrometheus(t *testing.T) {
	l := labtest.New(t)
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: apt-get install prometheus (Debian's package; its service need not run)")
	}
	// Readable by the user the exporter drops privilege to.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	serveCfg := write("tcpprobe.yml", serveConfig)
	promCfg := write("prometheus.yml", prometheusConfig())

	// Nothing may go to the priming port or to a target outside allow.
	capture, err := l.Capture(l.Client, lab.ClientIf, "tcp and (dst port 9 or host 198.18.10.1)")
	if err != nil {
		t.Fatal(err)
	}
	serve, serveOut := startInClient(t, l, bin, "serve", "--config", serveCfg, "--listen", serveAddr, "--log-level", "debug")
	c := nsClient(l, l.Client)
	waitHTTP(t, c, "http://"+serveAddr+"/-/healthy", 10*time.Second, serveOut)
	_, promOut := startInClient(t, l, prom, "--config.file", promCfg, "--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address="+prometheusAddr, "--log.level=warn")
	waitHTTP(t, c, "http://"+prometheusAddr+"/-/ready", 20*time.Second, promOut)

	// Every target's verdict, as Prometheus stored it.
	got := map[string]promWant{}
	want := map[string]promWant{}
	for tgt, w := range servedTargets {
		want["tcpprobe/"+tgt] = w
	}
	want["tcpprobe-classic/"+classicTarget] = classicWant
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s Prometheus holds verdicts for %d of %d targets: %v\nexporter:\n%s\nprometheus:\n%s", len(got), len(want), got, serveOut.String(), promOut.String())
		}
		time.Sleep(500 * time.Millisecond)
		success := map[string]string{}
		for _, s := range promVector(t, c, `probe_success{job=~"tcpprobe|tcpprobe-classic"}`) {
			success[s["job"]+"/"+s["instance"]] = s["__value__"]
		}
		soft := map[string]string{}
		for _, s := range promVector(t, c, `tcpprobe_soft_error`) {
			soft[s["job"]+"/"+s["instance"]] = s["__value__"]
		}
		for _, s := range promVector(t, c, `tcpprobe_result_info`) {
			k := s["job"] + "/" + s["instance"]
			if success[k] == "" || soft[k] == "" {
				continue
			}
			got[k] = promWant{success[k], s["outcome"], s["errno"], s["reason"], soft[k]}
			if s["mode"] != "raw" {
				t.Errorf("%s probed in mode %q, want raw", k, s["mode"])
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts in Prometheus (-want +got):\n%s", diff)
	}

	// Outside allow: 403, counted, nothing sent.
	resp, err := c.Get("http://" + serveAddr + "/probe?module=linux&target=198.18.10.1:80")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("target outside allow: status %d, want 403: %s", resp.StatusCode, body)
	}

	// 200 concurrent scrapes of open and closed ports in both families.
	const scrapes = 200
	targets := []struct{ target, outcome string }{
		{"198.18.2.2:80", "open"}, {"198.18.2.2:81", "refused"}, {"[fd00:2::2]:80", "open"}, {"[fd00:2::2]:81", "refused"},
	}
	var wg sync.WaitGroup
	errs := make(chan string, scrapes)
	for i := range scrapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc := targets[i%len(targets)]
			req, _ := http.NewRequest(http.MethodGet, "http://"+serveAddr+"/probe?module=linux&target="+url.QueryEscape(tc.target), nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "15")
			resp, err := c.Do(req)
			if err != nil {
				errs <- fmt.Sprintf("%s: %v", tc.target, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), fmt.Sprintf(`outcome="%s"`, tc.outcome)) {
				errs <- fmt.Sprintf("%s: status %d, want outcome %s:\n%s", tc.target, resp.StatusCode, tc.outcome, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	resp, err = c.Get("http://" + serveAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{`tcpprobe_exporter_refusals_total{reason="not-allowed"} 1`} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	var peak float64
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "tcpprobe_exporter_probes_in_flight_peak "); ok {
			fmt.Sscan(v, &peak)
		}
	}
	t.Logf("probes in flight peaked at %v during 200 concurrent scrapes", peak)
	if peak < 2 || peak > 16 {
		t.Errorf("probes in flight peaked at %v, want 2 to 16: overlapping Runs, bounded by limits.concurrency", peak)
	}

	st, err := privilege.StatusOf(fmt.Sprintf("/proc/%d", serve.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Unprivileged() {
		t.Errorf("the exporter kept privilege after opening its links: %v", st)
	}
	pkts, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		t.Errorf("sent to the priming port or a target outside allow: %s", p.Line)
	}
	if t.Failed() {
		t.Logf("exporter output:\n%s", serveOut.String())
	}
}

// TestServeHandshake: a handshake: full module completes the handshake
// with the lab's listener and reports it; the exporter keeps privilege,
// as such a module requires.
func TestServeHandshake(t *testing.T) {
	l := labtest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tcpprobe.yml")
	if err := os.WriteFile(cfg, []byte(`keep_privileges: true
targets: {allow: [198.18.2.0/24]}
modules:
  full: {handshake: full, timeout: 2s}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out := startInClient(t, l, bin, "serve", "--config", cfg, "--listen", serveAddr)
	c := nsClient(l, l.Client)
	waitHTTP(t, c, "http://"+serveAddr+"/-/healthy", 10*time.Second, out)
	tests := []struct {
		port                   uint16
		outcome, reason, estab string
	}{
		{lab.PortOpen, "open", "established", "1"},
		{lab.PortClosed, "refused", "rst", "0"},
	}
	for _, tc := range tests {
		resp, err := c.Get(fmt.Sprintf("http://%s/probe?module=full&target=%s:%d", serveAddr, lab.ServerV4, tc.port))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		for _, want := range []string{
			fmt.Sprintf(`mode="handshake",outcome="%s"`, tc.outcome),
			fmt.Sprintf(`reason="%s"`, tc.reason),
			"tcpprobe_handshake_established " + tc.estab,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("port %d: the answer lacks %q:\n%s\nexporter:\n%s", tc.port, want, body, out.String())
			}
		}
	}
}
