package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/internal/privilege"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// Streams are the command's standard streams, injected so tests can read
// what it prints.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
	// ErrTTY says Err is a terminal: a long run shows its progress there.
	ErrTTY bool
}

// Env is what the command takes from its surroundings; tests replace it.
type Env struct {
	Network  probe.Network            // nil: the host's
	Resolver Resolver                 // nil: net.DefaultResolver
	Sysctls  func() (int, int, error) // nil: probe.HostSysctls
	// ProgressAfter is how long a run goes before progress is shown on a
	// terminal (0: 1 s).
	ProgressAfter time.Duration
	// Planned, if set, is told how much memory the run's probes will hold
	// at most (a bound from their number and the output format), once
	// targets are read and before anything is sent: the command sizes its
	// garbage collector with it. -1 says the run keeps only what is in
	// flight (a streamed run), or withdraws the bound (the run fell back
	// to connect(2)).
	Planned func(maxHeap int64)
}

// Options are the root command's flags, validated before anything is sent.
type Options struct {
	Ports       string
	Files       []string
	Profile     string
	Timeout     time.Duration
	Schedule    string
	ICMP        string
	JSON        bool
	NDJSON      bool
	JUnit       string
	Order       string
	Expect      string
	Verbose     bool
	Interface   string
	Source      string
	SourcePort  uint16
	TTL         uint8
	NoOptions   bool
	IPv4, IPv6  bool
	AllAddrs    bool
	Rate        string
	Concurrency int
	KeepPrivs   bool
	Count       int
	Interval    time.Duration
	Mode        string
	Quiet       bool
	Life        lifeOptions // --handshake, --send, --close, --scan, … (handshake.go)
	TargetOptions
	Diagnose  bool          // diagnose.go
	TraceWait time.Duration // diagnose.go
}

// Probing modes (--mode).
const (
	ModeAuto    = "auto"    // raw, or connect with a notice when raw sockets are not allowed
	ModeRaw     = "raw"     // own SYNs over raw sockets; no fallback
	ModeConnect = "connect" // the kernel's connect(2)
)

// Orders of results (--order).
const (
	OrderInput  = "input"
	OrderFinish = "finish"
)

// MainEnv runs tcpprobe with args in the environment env and returns the
// exit code.
func MainEnv(ctx context.Context, args []string, s Streams, env Env) int {
	report.Version = version()
	cmd := NewRootCmd(ctx, s, env)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return exitCode(err, s.Err)
}

// NewRootCmd builds the cobra tree.
func NewRootCmd(ctx context.Context, s Streams, env Env) *cobra.Command {
	return newRootCmd(s, env, &Options{})
}

// newRootCmd builds the cobra tree with its flags bound into o.
func newRootCmd(s Streams, env Env, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "tcpprobe [flags] HOST:PORT...",
		Short:         "Tell whether host:port can be reached and, if not, exactly why",
		Long:          longHelp,
		Example:       examples,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := unknownCommand(cmd, args, o.Ports); err != nil {
				return err
			}
			return run(cmd.Context(), o, args, s, env, cmd.Flags().Changed("interval"))
		},
	}
	cmd.SetIn(s.In)
	cmd.SetOut(s.Out)
	cmd.SetErr(s.Err)
	cmd.SetFlagErrorFunc(flagError)
	cmd.Version = versionLine()
	cmd.SetVersionTemplate(`{{printf "%s\n" .Version}}`)
	f := cmd.Flags()
	f.StringVarP(&o.Ports, "ports", "p", "", "ports to probe on every HOST: 22,80,8000-8010")
	f.StringArrayVarP(&o.Files, "file", "f", nil, "read targets from FILE, one per line ('-': standard input); may be repeated")
	f.StringVar(&o.Profile, "profile", probe.ProfileClassic, "which connect(2) to reproduce: classic, linux or bsd")
	f.DurationVar(&o.Timeout, "timeout", 0, "give up after this long, cutting the profile's schedule (like a connect timeout)")
	f.StringVar(&o.Schedule, "schedule", "", "custom SYN schedule: offsets, '/', give-up time, e.g. 0,1s,3s/10s")
	f.StringVar(&o.ICMP, "icmp", "", "what an ICMP error does: soft (saved until the deadline), hard (ends the probe) or rfc1122 (port/protocol unreachable hard, others soft); default: the profile's")
	f.BoolVar(&o.JSON, "json", false, "print one JSON document with every result")
	f.BoolVar(&o.NDJSON, "ndjson", false, "print one JSON object per result, as each probe finishes")
	f.StringVar(&o.JUnit, "junit", "", "also write a JUnit XML report to FILE: one test case per probe, failed when its expectation is not met")
	f.StringVar(&o.Order, "order", "", "print results in input order or as they finish: input or finish (default: input, finish with --ndjson)")
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
	f.StringVar(&o.Rate, "rate", "max", "start at most N new probes per second, or max: as fast as every reply is still caught (the window of probes in flight shrinks when the kernel drops replies)")
	f.IntVar(&o.Concurrency, "concurrency", 0, "probes in flight at once (0: no limit)")
	f.IntVarP(&o.Count, "count", "c", 1, "probe every target this many times (0: until interrupted), each a fresh connection attempt, round k starting (k-1)·--interval after the first, and print a summary")
	f.DurationVar(&o.Interval, "interval", time.Second, "with -c: time between the starts of two rounds")
	f.BoolVar(&o.KeepPrivs, "keep-privileges", false, "keep root and capabilities for the whole run (default: once its sockets are open, tcpprobe switches to the sudo user or nobody and drops every capability)")
	f.StringVar(&o.Mode, "mode", ModeAuto, "how to probe: raw (own SYNs, needs CAP_NET_RAW), connect (the kernel's connect(2)), or auto (raw, else connect with a notice)")
	o.addLifeFlags(cmd)
	addTargetFlags(cmd, o)
	addUXFlags(cmd, o)
	addDiagnoseFlags(cmd, o)
	cmd.AddCommand(newVersionCmd(s), newSelftestCmd(s), newListenersCmd(s), newTraceCmd(s, env), newServeCmd(s, env))
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
	switch o.Order {
	case "", OrderInput, OrderFinish:
	default:
		return cfg, usagef("--order %q: want input or finish", o.Order)
	}
	switch o.Mode {
	case ModeAuto, ModeRaw, ModeConnect:
	default:
		return cfg, usagef("--mode %q: want raw, connect or auto", o.Mode)
	}
	if o.Mode == ModeConnect && (o.ICMP != "" || o.NoOptions) {
		return cfg, usagef("--icmp and --no-options shape raw SYNs; --mode connect leaves them to the kernel: drop them or use --mode raw")
	}
	if o.Count < 0 {
		return cfg, usagef("--count %d: want 1 or more, or 0 to probe until interrupted", o.Count)
	}
	if o.Count != 1 && o.SourcePort != 0 {
		return cfg, usagef("--source-port with -c %d would reuse one 4-tuple in every round: drop --source-port or -c", o.Count)
	}
	if o.Interval <= 0 {
		return cfg, usagef("--interval %v: want a positive duration", o.Interval)
	}
	if o.IPv4 && o.IPv6 {
		return cfg, usagef("-4 and -6 cannot be used together: drop one (without either, names resolve to both families)")
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
	switch rate, err := strconv.ParseFloat(o.Rate, 64); {
	case o.Rate == "max":
		cfg.Rate = probe.RateMax
	case err != nil || rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate):
		return cfg, usagef("--rate %q: want a number of probes per second above 0, or max", o.Rate)
	default:
		cfg.Rate = rate
	}
	if o.Concurrency < 0 {
		return cfg, usagef("--concurrency must not be negative")
	}
	if o.Interface != "" {
		if _, err := net.InterfaceByName(o.Interface); err != nil && env.Network == nil {
			return cfg, &probe.EnvError{Err: fmt.Errorf("interface %q does not exist on this host (see ip link)", o.Interface)}
		}
	}
	cfg.Interface = o.Interface
	cfg.SourcePort = o.SourcePort
	cfg.TTL = o.TTL
	if !o.NoOptions {
		cfg.Options = probe.DefaultOptions()
	}
	cfg.Concurrency = o.Concurrency
	cfg.Network = env.Network
	if env.Network == nil && !o.KeepPrivs {
		// Once the links are open and next hops known, nothing needs
		// privilege (docs/security.md).
		cfg.Ready = func() error { return privilege.Drop(privilege.Options{}) }
	}
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

// usageArgs wraps a cobra argument check so its complaint is a usage
// error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}
