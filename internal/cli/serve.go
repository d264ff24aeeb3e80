package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/internal/kconnect"
	"github.com/tcpprobe/tcpprobe/internal/privilege"
	"github.com/tcpprobe/tcpprobe/internal/serve"
	"github.com/tcpprobe/tcpprobe/lifecycle"
	"github.com/tcpprobe/tcpprobe/probe"
)

// serveOptions are the serve command's flags.
type serveOptions struct {
	Config    string
	Listen    []string
	WebConfig string
	LogLevel  string
	LogFormat string
	KeepPrivs bool
}

const serveLong = `serve runs tcpprobe as a Prometheus multi-target exporter, the way
blackbox_exporter's tcp_connect does, with the reasons it cannot give:

  GET /probe?target=HOST:PORT&module=NAME   one probe, its metrics
  GET /probe?...&debug=true                 the packet timeline as text
  GET /metrics                              the exporter's own metrics
  POST /-/reload (or SIGHUP)                re-read the config file

Every raw-mode probe goes through one shared prober: its raw links open at
the first scrape, and then privilege is dropped (as the command line does)
unless keep_privileges or --keep-privileges is set. Files read later (the
config on reload, the web config's certificates and passwords) must then be
readable by the user tcpprobe switched to (the sudo user or nobody).

Only targets inside targets.allow are probed (default: loopback only);
any other gets 403 and nothing is sent. The probe's time is the scrape
timeout (X-Prometheus-Scrape-Timeout-Seconds) minus limits.timeout_offset,
capped by the module's timeout. limits.concurrency bounds probes in flight,
limits.queue the scrapes waiting for them, and a target is probed at most
once per limits.min_interval per module: scrapes within it share the probe
in flight or get the last result (tcpprobe_result_reused 1).

TLS, client certificates and basic auth come from an exporter-toolkit web
configuration file (--web.config.file or web_config_file). See README
("Prometheus exporter") for the config file and scrape_config.`

func newServeCmd(s Streams, env Env) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --config FILE [--listen ADDR]...",
		Short: "Run as a Prometheus multi-target exporter (/probe?target=HOST:PORT&module=NAME)",
		Long:  serveLong,
		Example: `  tcpprobe serve --config tcpprobe.yml --listen :9117
  curl 'http://localhost:9117/probe?target=198.18.2.2:80&module=default&debug=true'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd, o, s, env)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", "", "YAML configuration file: modules, targets.allow, limits (required)")
	f.StringArrayVar(&o.Listen, "listen", nil, "address to serve on, e.g. :9117 (may be repeated; replaces the config's listen)")
	f.StringVar(&o.WebConfig, "web.config.file", "", "exporter-toolkit web configuration for TLS, client certificates and basic auth (replaces the config's web_config_file)")
	f.StringVar(&o.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.LogFormat, "log-format", "text", "log format on standard error: text or json")
	f.BoolVar(&o.KeepPrivs, "keep-privileges", false, "keep root and capabilities after the raw links are open")
	return cmd
}

func runServe(cmd *cobra.Command, o *serveOptions, s Streams, env Env) error {
	if o.Config == "" {
		return usagef("serve needs --config FILE (an empty file is a valid config: loopback only, the default module)")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", o.LogLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	switch strings.ToLower(o.LogFormat) {
	case "text":
		logger = slog.New(slog.NewTextHandler(s.Err, hopts))
	case "json":
		logger = slog.New(slog.NewJSONHandler(s.Err, hopts))
	default:
		return usagef("--log-format %q: want text or json", o.LogFormat)
	}
	sysctls := env.Sysctls
	if sysctls == nil {
		sysctls = probe.HostSysctls
	}
	cfg, err := serve.LoadFile(o.Config, sysctls)
	if err != nil {
		return &UsageError{Err: err}
	}
	network := env.Network
	if network == nil {
		network = probe.Host{}
	}
	drop := env.Network == nil && !o.KeepPrivs && !cfg.KeepPrivileges
	ctx := cmd.Context()
	primeCtx, primed := context.WithCancel(ctx)
	defer primed()
	dropped := false
	pcfg := probe.Config{Profile: probe.Classic(), Options: probe.DefaultOptions(), Network: env.Network}
	// Ready comes once the first Run's links are open and its next hops
	// resolved, before its first SYN: the priming Run below ends there,
	// having sent no SYN (serve.PrimeTargets).
	pcfg.Ready = func() error {
		defer primed()
		if !drop || dropped {
			return nil
		}
		if err := privilege.Drop(privilege.Options{}); err != nil {
			return err
		}
		dropped = true
		logger.Info("raw links open: privileges dropped; the config and web config files must stay readable by this uid for reloads", "uid", os.Getuid())
		return nil
	}
	prober, err := probe.New(pcfg)
	if err != nil {
		return err
	}
	defer prober.Close()
	if ts := serve.PrimeTargets(cfg.Allow, network, nil); len(ts) > 0 {
		err := prober.Run(primeCtx, ts, func(*probe.Result) {})
		if err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("raw links could not be opened at start: raw-mode probes will fall back to connect(2) where the host allows it, or fail", "err", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if drop && !dropped {
		if err := privilege.Drop(privilege.Options{}); err != nil {
			return &probe.EnvError{Err: fmt.Errorf("dropping privileges: %w (or run with --keep-privileges)", err)}
		}
		dropped = true
		logger.Info("privileges dropped", "uid", os.Getuid())
	}
	srv, err := serve.New(serve.Options{
		ConfigPath: o.Config,
		Initial:    cfg,
		Raw:        prober,
		Connect: func(p probe.Profile) serve.Runner {
			return kconnect.New(kconnect.Config{Profile: p})
		},
		Handshake: func(p probe.Profile, m *serve.Module) serve.Runner {
			budget := p.Schedule.GiveUp
			return lifecycle.NewHandshaker(lifecycle.Config{Profile: p, Send: m.Send, Banner: m.Banner,
				Close: m.File.Close, Timeout: budget / 2, CloseTimeout: min(lifecycle.DefaultCloseTimeout, budget/4)})
		},
		Unprivileged: dropped,
		Resolver:     env.Resolver,
		Sysctls:      sysctls,
		Logger:       logger,
		Version:      version(),
	})
	if err != nil {
		return &UsageError{Err: err}
	}
	if err := srv.ListenAndServe(ctx, o.Listen, o.WebConfig, nil); err != nil {
		return &probe.EnvError{Err: fmt.Errorf("serve: %w", err)}
	}
	return nil
}
