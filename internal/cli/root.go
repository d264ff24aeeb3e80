package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// Streams are the command's standard streams, injected so tests can read
// what it prints.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Env is what the command takes from its surroundings; tests replace it.
type Env struct {
	Network  probe.Network            // nil: the host's
	Resolver Resolver                 // nil: net.DefaultResolver
	Sysctls  func() (int, int, error) // nil: probe.HostSysctls
}

// Options are the root command's flags, validated before anything is sent.
type Options struct {
	Ports       string
	Profile     string
	Timeout     time.Duration
	Schedule    string
	ICMP        string
	JSON        bool
	NDJSON      bool
	Expect      string
	Verbose     bool
	Interface   string
	Source      string
	SourcePort  uint16
	TTL         uint8
	NoOptions   bool
	IPv4, IPv6  bool
	AllAddrs    bool
	Rate        float64
	Concurrency int
}

// Main runs tcpprobe with args and returns the exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	return MainEnv(ctx, args, s, Env{})
}

// MainEnv is Main with the environment injected.
func MainEnv(ctx context.Context, args []string, s Streams, env Env) int {
	cmd := NewRootCmd(ctx, s, env)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return exitCode(err, s.Err)
}

// NewRootCmd builds the cobra tree.
func NewRootCmd(ctx context.Context, s Streams, env Env) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "tcpprobe [flags] HOST:PORT...",
		Short: "Tell whether host:port can be reached and, if not, exactly why",
		Long: `tcpprobe sends its own TCP SYN to each target and reads what comes back, to
report what connect(2) would have said (open, ECONNREFUSED, EHOSTUNREACH,
ENETUNREACH, ETIMEDOUT, ...), which packet decided it and who sent it.

Profiles choose which connect(2) to reproduce:
  classic  (default) the BSD schedule: SYNs at 0, 6 and 30 s, give up at 75 s;
           an ICMP unreachable from a router is a soft error, remembered and
           reported at the deadline; port/protocol unreachable end at once
  linux    this host's kernel exactly: its SYN schedule from tcp_syn_retries
           and tcp_syn_linear_timeouts, every ICMP error ends the probe at once
  bsd      4.4BSD exactly: every ICMP error soft, BSD's errno table

Targets are HOST:PORT, [IPv6]:PORT, or HOST with -p PORTS.`,
		Example: `  tcpprobe 198.18.2.2:80
  tcpprobe -v --profile linux [fd00:2::2]:443
  tcpprobe -p 22,80,8000-8010 198.18.2.2 --json
  tcpprobe --expect closed --timeout 5s 198.18.2.2:5432`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), o, args, s, env)
		},
	}
	cmd.SetOut(s.Out)
	cmd.SetErr(s.Err)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	f := cmd.Flags()
	f.StringVarP(&o.Ports, "ports", "p", "", "ports to probe on every HOST: 22,80,8000-8010")
	f.StringVar(&o.Profile, "profile", probe.ProfileClassic, "which connect(2) to reproduce: classic, linux or bsd")
	f.DurationVar(&o.Timeout, "timeout", 0, "give up after this long, cutting the profile's schedule (like a connect timeout)")
	f.StringVar(&o.Schedule, "schedule", "", "custom SYN schedule: offsets, '/', give-up time, e.g. 0,1s,3s/10s")
	f.StringVar(&o.ICMP, "icmp", "", "what an ICMP error does: soft (saved until the deadline), hard (ends the probe) or rfc1122 (port/protocol unreachable hard, others soft); default: the profile's")
	f.BoolVar(&o.JSON, "json", false, "print one JSON document with every result")
	f.BoolVar(&o.NDJSON, "ndjson", false, "print one JSON object per result, as each probe finishes")
	f.StringVar(&o.Expect, "expect", "", "assert every probe's outcome: open, refused, unreachable, timeout or closed (anything but open)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "print the timeline of every packet sent and seen")
	f.StringVar(&o.Interface, "interface", "", "send through this interface only")
	f.StringVar(&o.Source, "source", "", "source address to send from (must be this host's)")
	f.Uint16Var(&o.SourcePort, "source-port", 0, "source port for every probe (default: a free random port per probe)")
	f.Uint8Var(&o.TTL, "ttl", 64, "IP TTL / hop limit of the SYN")
	f.BoolVar(&o.NoOptions, "no-options", false, "send SYNs without TCP options (default: MSS, SACK-permitted, timestamps, window scale, in Linux's order)")
	f.BoolVarP(&o.IPv4, "ipv4", "4", false, "resolve names to IPv4 addresses only")
	f.BoolVarP(&o.IPv6, "ipv6", "6", false, "resolve names to IPv6 addresses only")
	f.BoolVar(&o.AllAddrs, "all-addresses", false, "probe every address a name resolves to (default: the first)")
	f.Float64Var(&o.Rate, "rate", 0, "start at most this many probes per second (0: no limit)")
	f.IntVar(&o.Concurrency, "concurrency", 0, "probes in flight at once (0: no limit)")
	cmd.AddCommand(newVersionCmd(s))
	return cmd
}

// config validates o and builds the probe configuration. Nothing is sent
// before it succeeds.
func (o *Options) config(env Env) (probe.Config, error) {
	var cfg probe.Config
	sysctls := env.Sysctls
	if sysctls == nil {
		sysctls = probe.HostSysctls
	}
	prof, err := probe.ProfileByName(o.Profile, sysctls)
	if err != nil {
		return cfg, &UsageError{Err: err}
	}
	if o.Schedule != "" {
		s, err := probe.ParseSchedule(o.Schedule)
		if err != nil {
			return cfg, &UsageError{Err: err}
		}
		prof.Schedule = s
	}
	if o.Timeout < 0 {
		return cfg, usagef("--timeout %v: want a positive duration", o.Timeout)
	}
	prof.Schedule = prof.Schedule.Cut(o.Timeout)
	if o.ICMP != "" {
		pol, err := probe.ParseICMPPolicy(o.ICMP)
		if err != nil {
			return cfg, &UsageError{Err: err}
		}
		prof.ICMP = pol
	}
	cfg.Profile = prof
	if o.JSON && o.NDJSON {
		return cfg, usagef("--json and --ndjson cannot be used together: pick one")
	}
	if o.IPv4 && o.IPv6 {
		return cfg, usagef("-4 and -6 cannot be used together")
	}
	if o.Expect != "" {
		if _, err := report.ParseExpect(o.Expect); err != nil {
			return cfg, &UsageError{Err: err}
		}
	}
	if o.Source != "" {
		a, err := netip.ParseAddr(o.Source)
		if err != nil {
			return cfg, usagef("--source %q is not an IP address", o.Source)
		}
		cfg.Source = a.Unmap()
	}
	if o.TTL == 0 {
		return cfg, usagef("--ttl 0 would never leave this host: want 1 to 255")
	}
	if o.Rate < 0 || o.Concurrency < 0 {
		return cfg, usagef("--rate and --concurrency must not be negative")
	}
	if o.Interface != "" {
		if _, err := net.InterfaceByName(o.Interface); err != nil && env.Network == nil {
			return cfg, &probe.EnvError{Err: fmt.Errorf("interface %q: %v (see `ip link`)", o.Interface, err)}
		}
	}
	cfg.Interface = o.Interface
	cfg.SourcePort = o.SourcePort
	cfg.TTL = o.TTL
	if !o.NoOptions {
		cfg.Options = probe.DefaultOptions()
	}
	cfg.Rate = o.Rate
	cfg.Concurrency = o.Concurrency
	cfg.Network = env.Network
	return cfg, nil
}

func (o *Options) family() string {
	switch {
	case o.IPv4:
		return "ip4"
	case o.IPv6:
		return "ip6"
	}
	return "ip"
}

func run(ctx context.Context, o *Options, args []string, s Streams, env Env) error {
	cfg, err := o.config(env)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usagef("no targets: give HOST:PORT, [IPv6]:PORT, or HOST with -p PORTS")
	}
	var ports []uint16
	if o.Ports != "" {
		if ports, err = ParsePorts(o.Ports); err != nil {
			return usagef("-p: %v", err)
		}
	}
	res := env.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	targets, err := expand(ctx, res, args, ports, o.family(), o.AllAddrs, o.Expect)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return &UsageError{Err: err}
	}
	if o.SourcePort != 0 {
		// One source port cannot carry two probes to the same destination.
		seen := map[netip.AddrPort]bool{}
		for _, t := range targets {
			if seen[t.Addr] {
				return usagef("--source-port %d with %s twice would reuse one 4-tuple", o.SourcePort, t.Addr)
			}
			seen[t.Addr] = true
		}
	}
	var w report.Writer
	switch {
	case o.JSON:
		w = report.NewJSON(s.Out)
	case o.NDJSON:
		w = report.NewNDJSON(s.Out)
	default:
		w = report.NewText(s.Out, o.Verbose)
	}
	pr, err := probe.New(cfg)
	if err != nil {
		return &UsageError{Err: err}
	}
	unmet := 0
	var werr error
	runErr := pr.Run(ctx, targets, func(r *probe.Result) {
		if !report.Met(r) {
			unmet++
		}
		if err := w.Write(r); err != nil && werr == nil {
			werr = err
		}
	})
	if err := w.Close(); err != nil && werr == nil {
		werr = err
	}
	switch {
	case runErr != nil:
		return runErr
	case werr != nil:
		return fmt.Errorf("writing results: %w", werr)
	case unmet > 0:
		return errUnmet
	}
	return nil
}

func newVersionCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tcpprobe's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(s.Out, "tcpprobe %s (JSON schema %s)\n", report.Version, report.Schema)
			return nil
		},
	}
}
