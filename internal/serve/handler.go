package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
	"go.yaml.in/yaml/v3"
)

// ScrapeTimeoutHeader is the header in which Prometheus says how long it
// waits for a scrape.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// minBudget is the least time a probe is started with: less could not
// even see a SYN-ACK across a room.
const minBudget = 10 * time.Millisecond

// errNoTime is a scrape whose time ran out before its probe could start.
var errNoTime = errors.New("the scrape's timeout ran out before the probe could start (queued too long; raise limits.concurrency or the scrape timeout)")

// scrapeTimeout is how long a probe of this scrape may take: the
// Prometheus header (or DefaultScrapeTimeout) minus offset, so the answer
// reaches Prometheus before it gives up.
func scrapeTimeout(h http.Header, offset time.Duration) (time.Duration, error) {
	t := DefaultScrapeTimeout
	if v := h.Get(ScrapeTimeoutHeader); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1e6) { // NaN fails both
			return 0, fmt.Errorf("%s %q: want a positive number of seconds", ScrapeTimeoutHeader, v)
		}
		t = time.Duration(f * float64(time.Second))
	}
	if t-offset > minBudget {
		return t - offset, nil
	}
	// An offset as large as the timeout would leave nothing: keep most of it.
	return t * 9 / 10, nil
}

// probeAnswer is what a /probe scrape answers with.
type probeAnswer struct {
	res    *probe.Result
	took   time.Duration
	mode   string // ModeRaw or ModeConnect: how it was probed
	reused bool
}

func (s *Server) refuse(w http.ResponseWriter, code int, reason, msg string, args ...any) {
	s.met.refusals.WithLabelValues(reason).Inc()
	s.log.Warn("probe refused", append([]any{"reason", reason, "status", code, "msg", msg}, args...)...)
	http.Error(w, msg, code)
}

func (s *Server) handleProbe(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	cfg := s.Config()
	q := r.URL.Query()
	modName := q.Get("module")
	if modName == "" {
		modName = DefaultModule
	}
	mod := cfg.Modules[modName]
	if mod == nil {
		s.refuse(w, http.StatusBadRequest, RefusedUnknownModule, fmt.Sprintf("unknown module %q: the config has %v", modName, cfg.ModuleNames()), "module", modName)
		return
	}
	target := q.Get("target")
	timeout, err := scrapeTimeout(r.Header, cfg.TimeoutOffset)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, RefusedBadTarget, err.Error())
		return
	}
	deadline := start.Add(timeout)
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	addr, err := s.resolve(ctx, target, mod.IPProtocol)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, RefusedBadTarget, err.Error(), "target", target)
		return
	}
	if !cfg.Allowed(addr.Addr()) {
		s.refuse(w, http.StatusForbidden, RefusedNotAllowed,
			fmt.Sprintf("target %s (%s) is outside targets.allow %v: nothing was sent", target, addr.Addr(), prefixes(cfg.Allow)),
			"target", target, "addr", addr.Addr().String(), "remote", r.RemoteAddr)
		return
	}
	ans, err := s.probe(ctx, deadline, mod, target, addr, cfg.MinInterval)
	switch {
	case errors.Is(err, errQueueFull):
		s.refuse(w, http.StatusServiceUnavailable, RefusedQueueFull, err.Error(), "target", target)
		return
	case errors.Is(err, errNoTime) || errors.Is(err, context.DeadlineExceeded):
		s.refuse(w, http.StatusServiceUnavailable, RefusedNoTime, errNoTime.Error(), "target", target)
		return
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		s.log.Debug("scraper went away before its probe started", "target", target)
		return
	case err != nil:
		s.log.Error("probe failed to run", "target", target, "module", modName, "err", err)
		http.Error(w, fmt.Sprintf("probe of %s could not run: %v", target, err), http.StatusInternalServerError)
		return
	}
	reg := prometheus.NewRegistry()
	probeMetrics(reg, ans)
	s.log.Debug("probe", "target", target, "module", modName, "outcome", ans.res.Outcome, "reason", ans.res.Reason,
		"errno", probe.ErrnoName(ans.res.Errno), "took", ans.took, "reused", ans.reused)
	if q.Get("debug") == "true" {
		s.writeDebug(w, reg, mod, ans)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// probe answers one scrape: with the probe of the same target and module
// in flight, or finished less than interval ago, or a new one run when a
// slot is free.
func (s *Server) probe(ctx context.Context, deadline time.Time, mod *Module, target string, addr netip.AddrPort, interval time.Duration) (probeAnswer, error) {
	f, reused := s.fl.join(flightKey{module: mod.Name, addr: addr.String()}, interval, time.Now())
	if reused {
		select {
		case <-f.done:
		case <-ctx.Done():
			return probeAnswer{}, ctx.Err()
		}
		if f.err != nil {
			return probeAnswer{}, f.err
		}
		s.met.reused.Inc()
		ans := f.ans
		ans.reused = true
		return ans, nil
	}
	ans, err := s.run(ctx, deadline, mod, target, addr)
	s.fl.finish(f, ans, err, time.Now())
	if err != nil {
		return probeAnswer{}, err
	}
	s.met.probes.WithLabelValues(mod.Name, string(ans.res.Outcome)).Inc()
	return ans, nil
}

// run waits for a slot and runs the probe with its schedule cut at the
// time left. The probe itself runs to its own give-up time even if the
// scrape ends first (its result may serve the next scrape); only the
// server's end interrupts it.
func (s *Server) run(ctx context.Context, deadline time.Time, mod *Module, target string, addr netip.AddrPort) (probeAnswer, error) {
	if err := s.gate.acquire(ctx); err != nil {
		return probeAnswer{}, err
	}
	defer s.gate.release()
	runner := s.runner
	switch {
	case mod.Handshake && s.opts.Handshake == nil:
		return probeAnswer{}, errors.New("handshake: full is not available here")
	case mod.Mode == ModeConnect && s.opts.Connect == nil:
		return probeAnswer{}, errors.New("connect mode is not available here")
	case runner == nil && !mod.Handshake && mod.Mode == ModeRaw:
		return probeAnswer{}, errors.New("no raw prober")
	}
	budget := time.Until(deadline)
	if budget < minBudget {
		return probeAnswer{}, errNoTime
	}
	prof := mod.Profile
	prof.Schedule = prof.Schedule.Cut(budget)
	mode := mod.Mode
	switch {
	case mod.Handshake:
		runner, mode = s.opts.Handshake(prof, mod), ModeHandshake
	case mod.Mode == ModeConnect:
		runner = s.opts.Connect(prof)
	}
	t := probe.Target{Name: target, Addr: addr, Expect: mod.Expect, Profile: &prof}
	var res *probe.Result
	start := time.Now()
	err := runner.Run(s.baseCtx, []probe.Target{t}, func(r *probe.Result) { res = r })
	res, mode, err = s.second(deadline, prof, t, res, mode, err)
	took := time.Since(start)
	if err == nil && res == nil {
		err = errors.New("the prober returned no result")
	}
	if err != nil {
		return probeAnswer{}, err
	}
	return probeAnswer{res: res, took: took, mode: mode}, nil
}

// second runs a raw probe again with connect(2) when its answer cannot be
// trusted: raw sockets could not reach the target at all (loopback without
// the sysctls rawsock names, an interface not opened before privilege was
// dropped), or, without privilege, the prober could not solicit a next hop
// the kernel's neighbour cache lacks and called it a neighbour failure:
// connect(2) makes the kernel resolve it, in the time left.
func (s *Server) second(deadline time.Time, prof probe.Profile, t probe.Target, res *probe.Result, mode string, err error) (*probe.Result, string, error) {
	if mode != ModeRaw || s.opts.Connect == nil {
		return res, mode, err
	}
	var ee *probe.EnvError
	switch {
	case errors.As(err, &ee):
		s.log.Warn("raw probe not possible; probing with connect(2)", "target", t.Name, "why", err)
	case err == nil && res != nil && (res.Reason == probe.ReasonNeighborNotPermitted || res.Reason == probe.ReasonNeighbor && s.opts.Unprivileged):
		s.log.Debug("raw neighbour failure without privilege; checking with connect(2)", "target", t.Name)
	default:
		return res, mode, err
	}
	left := time.Until(deadline)
	if left < minBudget {
		return res, mode, err
	}
	prof.Schedule = prof.Schedule.Cut(left)
	t.Profile = &prof
	var res2 *probe.Result
	err2 := s.opts.Connect(prof).Run(s.baseCtx, []probe.Target{t}, func(r *probe.Result) { res2 = r })
	if err2 != nil || res2 == nil {
		if err != nil {
			return nil, mode, err
		}
		return res, mode, nil
	}
	return res2, ModeConnect, nil
}

// resolve parses HOST:PORT; a name resolves to its first address (of the
// family ipProto asks for, if any).
func (s *Server) resolve(ctx context.Context, target, ipProto string) (netip.AddrPort, error) {
	if target == "" {
		return netip.AddrPort{}, errors.New("target parameter is missing: /probe?target=HOST:PORT&module=NAME")
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("target %q: want HOST:PORT or [IPv6]:PORT (%v)", target, err)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil || pn == 0 {
		return netip.AddrPort{}, fmt.Errorf("target %q: port %q: want 1 to 65535", target, port)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("target %q: zoned addresses are not probed", target)
		}
		if (ipProto == "ip4" && !a.Is4()) || (ipProto == "ip6" && !a.Is6()) {
			return netip.AddrPort{}, fmt.Errorf("target %q is not an %s address, as the module's ip_protocol asks", target, ipProto)
		}
		return netip.AddrPortFrom(a, uint16(pn)), nil
	}
	network := "ip"
	if ipProto != "" {
		network = ipProto
	}
	addrs, err := s.opts.Resolver.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("target %q: cannot resolve %q: %v", target, host, err)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(pn)), nil
}

// writeDebug answers debug=true: the result with its packet timeline,
// the metrics a scrape would have got, and the module.
func (s *Server) writeDebug(w http.ResponseWriter, reg *prometheus.Registry, mod *Module, ans probeAnswer) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Probe of %s with module %q", ans.res.Target, mod.Name)
	if ans.reused {
		fmt.Fprint(w, " (result reused: probed for another scrape within the minimum interval)")
	}
	fmt.Fprint(w, ":\n")
	tw := report.NewText(w, true)
	_ = tw.Write(report.Entry{Result: ans.res, Mode: ans.mode})
	_ = tw.Close()
	fmt.Fprint(w, "\nMetrics that would have been returned:\n")
	if mfs, err := reg.Gather(); err == nil {
		enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			_ = enc.Encode(mf)
		}
	}
	fmt.Fprint(w, "\nModule configuration:\n")
	b, _ := yaml.Marshal(mod.File)
	_, _ = w.Write(b)
}
