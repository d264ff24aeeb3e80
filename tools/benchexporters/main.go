// Command benchexporters runs Debian's prometheus-blackbox-exporter
// (tcp_connect) and `tcpprobe serve` against the same targets of a lab of
// network namespaces (internal/lab: client — router — server, every
// outcome class) and prints what each exporter tells Prometheus about each
// target, side by side. scripts/bench-exporters.sh builds and runs it as
// root.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/tcpprobe/tcpprobe/internal/lab"
)

const (
	blackboxAddr = "127.0.0.1:9115"
	tcpprobeAddr = "127.0.0.1:9117"
)

const blackboxConfig = `modules:
  tcp_connect:
    prober: tcp
    timeout: %[1]s
`

const tcpprobeConfig = `targets:
  allow: [198.18.0.0/15, "fd00::/8"]
limits: {min_interval: 0s, timeout_offset: 500ms} # blackbox_exporter takes the same 0.5 s off
modules:
  linux: {profile: linux, timeout: %[1]s}
  classic: {profile: classic, timeout: %[1]s}
`

// target is one lab scenario.
type target struct {
	name  string
	addr  netip.AddrPort
	gated bool // the router answers from its routing table (lab.RouteErrorGate)
}

func targets() []target {
	ap := netip.AddrPortFrom
	s4, s6 := lab.ServerV4, lab.ServerV6
	return []target{
		{"open", ap(s4, lab.PortOpen), false},
		{"open v6", ap(s6, lab.PortOpen), false},
		{"closed (RST)", ap(s4, lab.PortClosed), false},
		{"reject port-unreachable", ap(s4, lab.PortRejectPort), false},
		{"reject tcp-reset", ap(s4, lab.PortRejectReset), false},
		{"reject admin-prohibited", ap(s4, lab.PortRejectAdmin), false},
		{"reject admin-prohibited v6", ap(s6, lab.PortRejectAdmin), false},
		{"reject host-unreachable", ap(s4, lab.PortRejectHost), false},
		{"reject net-unreachable", ap(s4, lab.PortRejectNet), false},
		{"drop (silence)", ap(s4, lab.PortDrop), false},
		{"first SYN dropped", ap(s4, lab.PortDropFirst1), false},
		{"router unreachable route", ap(lab.RouterUnreachV4, 80), true},
		{"router no route", ap(lab.RouterNoRouteV4, 80), true},
		{"router neighbour fails", ap(lab.NeighFailRouterV4, 80), false},
		{"client unreachable route", ap(lab.ClientUnreachV4, 80), false},
		{"client no route v6", ap(lab.ClientNoRouteV6, 80), false},
	}
}

func main() {
	bin := flag.String("tcpprobe", "tcpprobe", "the tcpprobe binary (CGO_ENABLED=0)")
	blackbox := flag.String("blackbox", "prometheus-blackbox-exporter", "the blackbox exporter binary")
	timeout := flag.Duration("timeout", 5*time.Second, "each exporter's probe timeout (module timeout and scrape timeout)")
	module := flag.String("module", "linux", "tcpprobe module: linux (the kernel's connect(2), like tcp_connect) or classic")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *bin, *blackbox, *timeout, *module)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchexporters:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin, blackbox string, timeout time.Duration, module string) error {
	l, err := lab.Build(lab.KindSelftest)
	if err != nil {
		return err
	}
	defer l.Close()
	dir, err := os.MkdirTemp("", "benchexporters-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // readable after tcpprobe drops privilege
		return err
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	bbCfg := write("blackbox.yml", fmt.Sprintf(blackboxConfig, timeout))
	tpCfg := write("tcpprobe.yml", fmt.Sprintf(tcpprobeConfig, timeout))
	for _, c := range [][]string{
		{blackbox, "--config.file", bbCfg, "--web.listen-address", blackboxAddr, "--log.level", "warn"},
		{bin, "serve", "--config", tpCfg, "--listen", tcpprobeAddr, "--log-level", "warn"},
	} {
		cmd := l.Command(ctx, l.Client, c[0], c[1:]...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s: %w", c[0], err)
		}
		go cmd.Wait()
	}
	hc := nsClient(l, l.Client, timeout+5*time.Second)
	for _, a := range []string{blackboxAddr, tcpprobeAddr} {
		if err := waitUp(ctx, hc, "http://"+a+"/metrics"); err != nil {
			return err
		}
	}
	fmt.Printf("lab %s (built in %v); timeout %v; blackbox_exporter module tcp_connect, tcpprobe module %s\n\n", l.Prefix, l.BuildTime.Round(time.Millisecond), timeout, module)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttarget\tblackbox: success\tduration\t|\ttcpprobe: success\tduration\toutcome\terrno\treason\tsoft\tSYNs\trtt\tresponder")
	for _, t := range targets() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		tgt := t.addr.String()
		bb, err := scrape(ctx, hc, blackboxAddr, tgt, "tcp_connect", timeout, t.gated)
		if err != nil {
			return err
		}
		_ = l.FlushNeighbors() // a second probe must not join a resolution in progress
		tp, err := scrape(ctx, hc, tcpprobeAddr, tgt, module, timeout, t.gated)
		if err != nil {
			return err
		}
		_ = l.FlushNeighbors()
		info := labels(tp, "tcpprobe_result_info")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t|\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.name, tgt,
			val(bb, "probe_success", "%.0f"), val(bb, "probe_duration_seconds", "%.3fs"),
			val(tp, "probe_success", "%.0f"), val(tp, "probe_duration_seconds", "%.3fs"),
			info["outcome"], dash(info["errno"]), info["reason"], val(tp, "tcpprobe_soft_error", "%.0f"),
			val(tp, "tcpprobe_syn_attempts", "%.0f"), val(tp, "tcpprobe_rtt_seconds", "%.4fs"), dash(info["responder"]))
	}
	tw.Flush()
	fmt.Println("\nMetric names each exporter returned for the last target:")
	for _, a := range []string{blackboxAddr, tcpprobeAddr} {
		mfs, err := scrape(ctx, hc, a, lab.ServerV4.String()+":80", map[string]string{blackboxAddr: "tcp_connect", tcpprobeAddr: module}[a], timeout, false)
		if err != nil {
			return err
		}
		var names []string
		for n := range mfs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Printf("  %s: %s\n", map[string]string{blackboxAddr: "blackbox_exporter", tcpprobeAddr: "tcpprobe"}[a], strings.Join(names, " "))
	}
	return nil
}

// scrape asks one exporter for one target, as Prometheus would.
func scrape(ctx context.Context, hc *http.Client, addr, target, module string, timeout time.Duration, gated bool) (map[string]*dto.MetricFamily, error) {
	if gated {
		release := lab.RouteErrorGate()
		defer release()
	}
	u := fmt.Sprintf("http://%s/probe?module=%s&target=%s", addr, module, url.QueryEscape(target))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(timeout.Seconds()))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d: %s", u, resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(string(b)))
}

func val(mfs map[string]*dto.MetricFamily, name, format string) string {
	mf := mfs[name]
	if mf == nil || len(mf.Metric) == 0 {
		return "-"
	}
	m := mf.Metric[0]
	switch {
	case m.Gauge != nil:
		return fmt.Sprintf(format, m.Gauge.GetValue())
	case m.Counter != nil:
		return fmt.Sprintf(format, m.Counter.GetValue())
	}
	return "?"
}

func labels(mfs map[string]*dto.MetricFamily, name string) map[string]string {
	out := map[string]string{}
	if mf := mfs[name]; mf != nil && len(mf.Metric) > 0 {
		for _, l := range mf.Metric[0].Label {
			out[l.GetName()] = l.GetValue()
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nsClient is an HTTP client whose connections are made inside ns.
func nsClient(l *lab.Lab, ns string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: l.DialContext(ns)}}
}

func waitUp(ctx context.Context, hc *http.Client, u string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not come up within 15s: %v", u, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
