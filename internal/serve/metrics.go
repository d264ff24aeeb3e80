package serve

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// probeMetrics fills a fresh registry with one probe's metrics: blackbox's
// probe_success, probe_duration_seconds and probe_ip_protocol, and the
// tcpprobe_ ones that say why.
func probeMetrics(reg *prometheus.Registry, ans probeAnswer) {
	r, took, reused := ans.res, ans.took, ans.reused
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	met := report.Met(r)
	hs := handshakeOf(r)
	if hs != nil && hs.BannerPattern != "" && !hs.BannerMatched {
		met = false // as blackbox_exporter fails a probe whose expected banner did not come
	}
	gauge("probe_success", "Whether the probe met its module's expectation (without one: the port is open).", b2f(met))
	gauge("probe_duration_seconds", "How long the probe took, queueing excluded.", took.Seconds())
	proto := 4.0
	if r.Addr.Is6() && !r.Addr.Is4In6() {
		proto = 6
	}
	gauge("probe_ip_protocol", "The IP version of the probed address.", proto)

	errno := ""
	if r.Errno != 0 {
		errno = probe.ErrnoName(r.Errno)
	}
	responder := ""
	if r.Responder.IsValid() {
		responder = r.Responder.String()
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tcpprobe_result_info",
		Help: "The probe's verdict as connect(2) would give it: outcome, errno name, the reason (deciding packet), who sent it, the profile, and the mode (raw: own SYNs; connect: the kernel's connect(2); handshake: handshake: full).",
	}, []string{"outcome", "errno", "reason", "responder", "profile", "mode"})
	info.WithLabelValues(string(r.Outcome), errno, r.Reason, responder, r.Profile, ans.mode).Set(1)
	reg.MustRegister(info)
	gauge("tcpprobe_errno", "The errno number connect(2) would have returned (0: connected).", float64(r.Errno))
	gauge("tcpprobe_syn_attempts", "SYNs sent, retransmissions included.", float64(len(r.Attempts)))
	if c, ok := connectTime(r); ok {
		gauge("tcpprobe_connect_seconds", "From the first SYN to the packet that decided the outcome.", c.Seconds())
	}
	if r.RTT > 0 {
		gauge("tcpprobe_rtt_seconds", "From the SYN that was answered to its answer.", r.RTT.Seconds())
	}
	gauge("tcpprobe_soft_error", "1 when the errno is a soft ICMP error saved and reported at the give-up time.", b2f(r.Soft))
	if sa := r.SYNACK; sa != nil {
		gauge("tcpprobe_synack_ttl", "TTL (hop limit) of the target's SYN-ACK.", float64(sa.TTL))
		gauge("tcpprobe_synack_window", "Window of the target's SYN-ACK (unscaled).", float64(sa.Window))
		if sa.Options.HasMSS {
			gauge("tcpprobe_synack_mss", "MSS option of the target's SYN-ACK.", float64(sa.Options.MSS))
		}
	}
	if hs == nil && ans.mode == ModeHandshake {
		gauge("tcpprobe_handshake_established", "1 when handshake: full completed the handshake.", 0)
	}
	if hs != nil {
		gauge("tcpprobe_handshake_established", "1 when handshake: full completed the handshake.", b2f(hs.Established))
		if hs.Established {
			gauge("tcpprobe_handshake_seconds", "From our SYN to our final ACK.", hs.ConnectTime.Seconds())
		}
		gauge("tcpprobe_handshake_accept_queue_full", "1 when the server ignored or reset our final ACK (its accept queue was full).", b2f(hs.AcceptQueueFull))
		gauge("tcpprobe_received_bytes", "Bytes the target sent before the close.", float64(hs.BytesReceived))
		if hs.FirstByte > 0 {
			gauge("tcpprobe_first_byte_seconds", "From the handshake to the target's first byte.", hs.FirstByte.Seconds())
		}
		if hs.BannerPattern != "" {
			gauge("tcpprobe_banner_matched", "1 when what the target sent matched the module's expect_banner.", b2f(hs.BannerMatched))
		}
		if c := r.Life.Close; c != nil {
			gauge("tcpprobe_close_graceful", "1 when the connection closed with a FIN each way and no RST.", b2f(c.Graceful))
		}
	}
	gauge("tcpprobe_expectation_met", "1 when the outcome met the module's expectation.", b2f(met))
	gauge("tcpprobe_ignored_packets", "Packets that named this probe but were not acceptable (wrong ACK, bad checksum, ...).", float64(r.Ignored))
	gauge("tcpprobe_result_reused", "1 when this scrape got the result of a probe of the same target and module started for another scrape within the minimum interval.", b2f(reused))
}

// handshakeOf returns a handshake: full result's handshake, nil otherwise.
func handshakeOf(r *probe.Result) *probe.Handshake {
	if r.Life == nil {
		return nil
	}
	return r.Life.Handshake
}

// connectTime is from the first SYN to the deciding event.
func connectTime(r *probe.Result) (time.Duration, bool) {
	if len(r.Attempts) == 0 {
		return 0, false
	}
	for i := range r.Events {
		if e := &r.Events[i]; e.Effect == probe.EffectDecided {
			return e.Time.Sub(r.Attempts[0]), true
		}
	}
	if !r.Finished.IsZero() {
		return r.Finished.Sub(r.Attempts[0]), true
	}
	return 0, false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// exporterMetrics are the exporter's own, on /metrics.
type exporterMetrics struct {
	probes     *prometheus.CounterVec
	refusals   *prometheus.CounterVec
	reused     prometheus.Counter
	reloads    *prometheus.CounterVec
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

// Refusal reasons of tcpprobe_exporter_refusals_total.
const (
	RefusedNotAllowed    = "not-allowed"    // target outside targets.allow (403)
	RefusedBadTarget     = "bad-target"     // target missing, malformed or unresolvable (400)
	RefusedUnknownModule = "unknown-module" // no such module (400)
	RefusedQueueFull     = "queue-full"     // too many scrapes waiting (503)
	RefusedNoTime        = "no-time"        // the scrape's time ran out in the queue (503)
)

func newExporterMetrics(reg prometheus.Registerer, s *Server) *exporterMetrics {
	m := &exporterMetrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpprobe_exporter_probes_total", Help: "Probes run, by module and outcome.",
		}, []string{"module", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpprobe_exporter_refusals_total", Help: "Scrapes of /probe refused before anything was sent, by reason.",
		}, []string{"reason"}),
		reused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tcpprobe_exporter_results_reused_total", Help: "Scrapes answered with a probe of the same target and module run for another scrape within the minimum interval.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tcpprobe_exporter_config_reloads_total", Help: "Configuration reloads, by result.",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tcpprobe_exporter_config_last_reload_successful", Help: "Whether the last configuration reload succeeded.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tcpprobe_exporter_config_last_reload_success_timestamp_seconds", Help: "When the configuration was last loaded successfully.",
		}),
	}
	reg.MustRegister(m.probes, m.refusals, m.reused, m.reloads, m.reloadOK, m.reloadTime)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tcpprobe_exporter_probes_in_flight", Help: "Probes running now.",
	}, func() float64 { r, _, _ := s.gate.counts(); return float64(r) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tcpprobe_exporter_scrapes_queued", Help: "Scrapes waiting for a probe slot.",
	}, func() float64 { _, q, _ := s.gate.counts(); return float64(q) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tcpprobe_exporter_probes_in_flight_peak", Help: "Most probes that ran at once since the start.",
	}, func() float64 { _, _, p := s.gate.counts(); return float64(p) }))
	if st, ok := s.runner.(statser); ok {
		stat := func(name, help string, f func(probe.Stats) uint64) {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
				func() float64 { return float64(f(st.Stats())) }))
		}
		stat("tcpprobe_exporter_link_drops_total", "Received packets the kernel dropped on the raw links (PACKET_STATISTICS).",
			func(s probe.Stats) uint64 { return s.Dropped })
		stat("tcpprobe_exporter_packets_unmatched_total", "Well-formed packets on the raw links for no probe of ours.",
			func(s probe.Stats) uint64 { return s.Unmatched })
		stat("tcpprobe_exporter_packets_malformed_total", "Packets on the raw links that did not parse.",
			func(s probe.Stats) uint64 { return s.Malformed })
		stat("tcpprobe_exporter_reprobes_total", "Probes run again because they gave up while the kernel dropped replies.",
			func(s probe.Stats) uint64 { return s.Reprobed })
	}
	return m
}

// statser is a runner that counts what its links saw; *probe.Prober is one.
type statser interface{ Stats() probe.Stats }

var _ statser = (*probe.Prober)(nil)
