package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/tcpprobe/tcpprobe/probe"
)

// Runner probes targets and emits each result; *probe.Prober is one.
type Runner interface {
	Run(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error
}

var _ Runner = (*probe.Prober)(nil)

// Resolver looks names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Server.
type Options struct {
	// ConfigPath is the YAML file, read at start, on POST /-/reload and
	// on SIGHUP.
	ConfigPath string
	// Initial, if set, is the configuration already loaded from
	// ConfigPath (the command reads it before dropping privilege).
	Initial *Config
	// Raw runs the probes of raw-mode modules: one Prober for every
	// scrape, whose links stay open.
	Raw Runner
	// Connect makes the runner of a connect-mode module (nil: connect
	// modules fail their scrapes).
	Connect func(probe.Profile) Runner
	// Handshake makes the runner of a handshake: full module (nil: such
	// modules fail their scrapes).
	Handshake func(probe.Profile, *Module) Runner
	// Unprivileged says the raw prober gave up privilege: it can no
	// longer solicit a next hop the kernel has not resolved, so a raw
	// neighbour failure is checked again with Connect, which lets the
	// kernel resolve it.
	Unprivileged bool
	// Resolver resolves target names (nil: net.DefaultResolver).
	Resolver Resolver
	// Sysctls gives the linux profile its schedule (nil: the host's).
	Sysctls func() (int, int, error)
	// Logger gets structured logs (nil: slog.Default()).
	Logger *slog.Logger
	// Version is shown on the landing page.
	Version string
}

// Server is the exporter.
type Server struct {
	opts   Options
	log    *slog.Logger
	runner Runner
	gate   *gate
	fl     flights
	reg    *prometheus.Registry // the exporter's own, on /metrics
	met    *exporterMetrics

	cfgMu sync.RWMutex
	cfg   *Config // protected by cfgMu; replaced whole on reload

	baseCtx context.Context // ends when Run returns: probes in flight end interrupted
	stop    context.CancelFunc
}

// New loads the configuration and builds the exporter. Nothing is sent.
func New(opts Options) (*Server, error) {
	cfg := opts.Initial
	if cfg == nil {
		var err error
		if cfg, err = LoadFile(opts.ConfigPath, opts.Sysctls); err != nil {
			return nil, err
		}
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	s := &Server{opts: opts, log: opts.Logger, runner: opts.Raw, cfg: cfg}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.baseCtx, s.stop = context.WithCancel(context.Background())
	s.gate = newGate(cfg.Concurrency, cfg.Queue)
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.met = newExporterMetrics(s.reg, s)
	s.met.reloadOK.Set(1)
	s.met.reloadTime.SetToCurrentTime()
	return s, nil
}

// Config returns the configuration in force.
func (s *Server) Config() *Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.cfg
}

// Reload re-reads the configuration file. A file that does not load
// leaves the old configuration in force; the error says why.
func (s *Server) Reload() error {
	cfg, err := LoadFile(s.opts.ConfigPath, s.opts.Sysctls)
	if err != nil {
		s.met.reloads.WithLabelValues("failure").Inc()
		s.met.reloadOK.Set(0)
		s.log.Error("configuration reload failed; the previous configuration stays in force", "file", s.opts.ConfigPath, "err", err)
		return err
	}
	s.cfgMu.Lock()
	old := s.cfg
	s.cfg = cfg
	s.cfgMu.Unlock()
	s.gate.setLimits(cfg.Concurrency, cfg.Queue)
	s.met.reloads.WithLabelValues("success").Inc()
	s.met.reloadOK.Set(1)
	s.met.reloadTime.SetToCurrentTime()
	s.log.Info("configuration reloaded", "file", s.opts.ConfigPath, "modules", cfg.ModuleNames(), "allow", prefixes(cfg.Allow))
	if !equalStrings(old.Listen, cfg.Listen) || old.WebConfigFile != cfg.WebConfigFile {
		s.log.Warn("listen addresses and web_config_file take effect at the next start, not on reload")
	}
	return nil
}

// Handler returns the exporter's HTTP routes: /probe, /metrics, /-/reload,
// /-/healthy and a landing page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", s.handleProbe)
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)}))
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "reload with POST", http.StatusMethodNotAllowed)
			return
		}
		if err := s.Reload(); err != nil {
			http.Error(w, fmt.Sprintf("reload failed, the previous configuration stays in force: %v", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "configuration reloaded")
	})
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "Healthy") })
	if lp, err := web.NewLandingPage(web.LandingConfig{
		Name:        "tcpprobe",
		Description: "TCP reachability probes the way connect(2) sees them, for Prometheus",
		Version:     s.opts.Version,
		Form: web.LandingForm{Action: "probe", Inputs: []web.LandingFormInput{
			{Label: "Target", Type: "text", Name: "target", Placeholder: "HOST:PORT"},
			{Label: "Module", Type: "text", Name: "module", Value: DefaultModule},
			{Label: "Debug", Type: "checkbox", Name: "debug", Value: "true"},
		}},
		Links: []web.LandingLinks{{Address: "metrics", Text: "Metrics"}},
	}); err == nil {
		mux.Handle("/", lp)
	}
	return mux
}

// ListenAndServe serves the Handler on listen (empty: the config's
// addresses) through exporter-toolkit, with TLS and authentication from
// webConfig (empty: the config's web_config_file, relative to the config
// file), and reloads the configuration on SIGHUP, until ctx ends. ready,
// if set, is told the addresses bound.
func (s *Server) ListenAndServe(ctx context.Context, listen []string, webConfig string, ready func([]net.Addr)) error {
	cfg := s.Config()
	if len(listen) == 0 {
		listen = cfg.Listen
	}
	if len(listen) == 0 {
		return errors.New("no address to listen on: give --listen ADDR or write listen: in the config")
	}
	if webConfig == "" && cfg.WebConfigFile != "" {
		webConfig = cfg.WebConfigFile
		if !filepath.IsAbs(webConfig) {
			webConfig = filepath.Join(filepath.Dir(s.opts.ConfigPath), webConfig)
		}
	}
	if webConfig != "" {
		if err := web.Validate(webConfig); err != nil {
			return fmt.Errorf("web config %s: %w", webConfig, err)
		}
	}
	var ls []net.Listener
	var addrs []net.Addr
	for _, a := range listen {
		l, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("listen on %s: %w", a, err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr())
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-hup:
				s.log.Info("SIGHUP: reloading the configuration")
				_ = s.Reload()
			case <-done:
				return
			}
		}
	}()
	errc := make(chan error, 1)
	flags := &web.FlagConfig{WebListenAddresses: &listen, WebConfigFile: &webConfig}
	go func() { errc <- web.ServeMultiple(ls, srv, flags, s.log) }()
	if ready != nil {
		ready(addrs)
	}
	s.log.Info("serving", "listen", listen, "web_config_file", webConfig, "modules", cfg.ModuleNames(), "allow", prefixes(cfg.Allow))
	select {
	case err := <-errc:
		s.stop()
		return err
	case <-ctx.Done():
	}
	s.stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func prefixes(ps []netip.Prefix) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return s
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
