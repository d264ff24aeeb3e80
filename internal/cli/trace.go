package cli

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/internal/privilege"
	"github.com/tcpprobe/tcpprobe/internal/targets"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
	"github.com/tcpprobe/tcpprobe/trace"
)

// traceOptions are the trace subcommand's flags.
type traceOptions struct {
	MaxHops, Queries, Gap, Parallel, FirstHop int
	Wait, SendGap                             time.Duration
	JSON, NoOptions, IPv4, IPv6, KeepPrivs    bool
	Interface, Source                         string
	SourcePort                                uint16
}

const traceLong = `trace sends TCP SYNs to HOST:PORT with TTL / hop limit 1, 2, … up to
--max-hops, --queries per hop, all from one source port to one destination
port (Paris traceroute: routers that spread flows over equal paths by
hashing addresses and ports keep every query on the path the probe takes;
only the TTL, the sequence number and the IPv4 ID change, none of which is
hashed). Several hops are in flight at once (--parallel).

Each hop shows who answered (ICMP time exceeded or unreachable from a router,
SYN-ACK or RST from the destination), the RTT of each query from when it
left, MPLS labels (RFC 4950) and whether the header a router quotes differs
from the SYN that was sent (a NAT or middlebox rewrote it). Answers are
validated like a probe's: an ICMP error must quote our destination, ports
and one of our sequence numbers; anything else is ignored and listed.

The trace stops at the destination's answer, at an unreachable, or after
--gap silent hops, and ends with one line saying where the SYN ends and why:
  open at hop 5
  refused by 198.18.44.2 at hop 5
  rejected by 198.18.41.2 (hop 2): admin-prohibited
  the SYN dies after 198.18.41.2 (hop 2): hops 3–7 silent
An open port reached is torn down with an RST, like a probe's.

Exit status: 0 when the port was reached open, 1 when not, 2 on bad usage,
3 when the environment stopped the trace (no CAP_NET_RAW).`

func newTraceCmd(s Streams, env Env) *cobra.Command {
	o := &traceOptions{}
	cmd := &cobra.Command{
		Use:   "trace [flags] HOST:PORT",
		Short: "Find the hop where a TCP SYN to HOST:PORT ends, and why (Paris-style TCP traceroute)",
		Long:  traceLong,
		Example: `  tcpprobe trace 198.18.44.2:80
  tcpprobe trace --json -q 1 --wait 500ms [fd00:44::2]:443`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrace(cmd.Context(), o, args[0], s, env)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.MaxHops, "max-hops", "m", trace.DefaultMaxHops, "highest TTL / hop limit to try")
	f.IntVar(&o.FirstHop, "first-hop", 1, "first TTL / hop limit")
	f.IntVarP(&o.Queries, "queries", "q", trace.DefaultQueries, "SYNs per hop")
	f.IntVar(&o.Gap, "gap", trace.DefaultGap, "stop after this many silent hops in a row")
	f.IntVar(&o.Parallel, "parallel", trace.DefaultParallel, "hops in flight at once")
	f.DurationVar(&o.Wait, "wait", trace.DefaultWait, "how long each query waits for its answer")
	f.DurationVar(&o.SendGap, "send-gap", trace.DefaultSendGap, "time between the queries of one hop")
	f.BoolVar(&o.JSON, "json", false, "print one JSON document (type trace)")
	f.BoolVar(&o.NoOptions, "no-options", false, "send SYNs without TCP options")
	f.StringVar(&o.Interface, "interface", "", "send through this interface only")
	f.StringVar(&o.Source, "source", "", "source address to send from (must be this host's)")
	f.Uint16Var(&o.SourcePort, "source-port", 0, "source port of every query (default: a free random port)")
	f.BoolVarP(&o.IPv4, "ipv4", "4", false, "resolve the name to an IPv4 address")
	f.BoolVarP(&o.IPv6, "ipv6", "6", false, "resolve the name to an IPv6 address")
	f.BoolVar(&o.KeepPrivs, "keep-privileges", false, "keep root and capabilities for the whole trace (default: once its socket is open, switch to the sudo user or nobody and drop every capability)")
	return cmd
}

func runTrace(ctx context.Context, o *traceOptions, arg string, s Streams, env Env) error {
	switch {
	case o.MaxHops < 1 || o.MaxHops > 255:
		return usagef("--max-hops %d: want 1 to 255", o.MaxHops)
	case o.FirstHop < 1 || o.FirstHop > o.MaxHops:
		return usagef("--first-hop %d: want 1 to --max-hops", o.FirstHop)
	case o.Queries < 1 || o.Queries > 10:
		return usagef("--queries %d: want 1 to 10", o.Queries)
	case o.Gap < 1:
		return usagef("--gap %d: want 1 or more", o.Gap)
	case o.Parallel < 1 || o.Parallel > 32:
		return usagef("--parallel %d: want 1 to 32", o.Parallel)
	case o.Wait <= 0:
		return usagef("--wait %v: want a positive duration", o.Wait)
	case o.IPv4 && o.IPv6:
		return usagef("-4 and -6 cannot be used together: drop one")
	}
	fam := "ip"
	if o.IPv4 {
		fam = "ip4"
	} else if o.IPv6 {
		fam = "ip6"
	}
	res := env.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	plan, err := targets.NewPlan(ctx, targets.Options{Family: fam, Resolver: res, Interface: o.Interface, MaxTargets: 2}, []string{arg}, nil, nil, nil)
	if err != nil {
		var tm *targets.TooManyError
		if errors.As(err, &tm) {
			return usagef("trace takes one HOST:PORT, %q gives more", arg)
		}
		return &UsageError{Err: err}
	}
	var ts []probe.Target
	for t, err := range plan.All() {
		if err != nil {
			return &UsageError{Err: err}
		}
		ts = append(ts, t)
	}
	if len(ts) != 1 {
		return usagef("trace takes one HOST:PORT, %q gives %d", arg, len(ts))
	}
	cfg := trace.Config{Target: arg, Dst: ts[0].Addr.Addr(), Port: ts[0].Addr.Port(),
		Interface: o.Interface, SourcePort: o.SourcePort, FirstHop: o.FirstHop, MaxHops: o.MaxHops,
		Queries: o.Queries, Gap: o.Gap, Parallel: o.Parallel, Wait: o.Wait, SendGap: o.SendGap}
	if o.SendGap == 0 {
		cfg.SendGap = -1
	}
	if !o.NoOptions {
		cfg.Options = probe.DefaultOptions()
	}
	if o.Source != "" {
		a, err := netip.ParseAddr(o.Source)
		if err != nil {
			return usagef("--source %q is not an IP address", o.Source)
		}
		cfg.Source = a.Unmap()
	}
	if !o.KeepPrivs {
		cfg.Ready = func() error { return privilege.Drop(privilege.Options{}) }
	}
	r, err := trace.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		// No CAP_NET_RAW (os.ErrPermission), an interface that will not
		// open, a privilege that will not go: the environment's.
		return &probe.EnvError{Err: err}
	}
	if o.JSON {
		err = trace.WriteJSON(s.Out, r, report.Version)
	} else {
		err = trace.WriteText(s.Out, r)
	}
	if err != nil {
		return err
	}
	if r.Verdict.Outcome != string(probe.Open) {
		return errUnmet
	}
	return nil
}
