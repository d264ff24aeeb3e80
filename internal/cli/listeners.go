package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/listeners"
)

// listenersOptions are the flags of `tcpprobe listeners`.
type listenersOptions struct {
	JSON    bool
	Watch   time.Duration
	Count   int
	SYNRecv int
	Sources int
}

// newListenersCmd builds `tcpprobe listeners`: the health of this host's
// listening sockets, read from sock_diag and /proc/net; nothing is sent.
func newListenersCmd(s Streams) *cobra.Command {
	o := &listenersOptions{}
	cmd := &cobra.Command{
		Use:   "listeners",
		Short: "Show every listening TCP socket: accept queue, backlog, half-open connections, listen counters",
		Long: `listeners reads every listening TCP socket of this network namespace from
netlink sock_diag (no packet is sent): its address, the process holding it
(where this user may see it), the accept queue against its backlog, the
half-open (SYN_RECV) connections and how many sources they come from, and
the namespace's counters ListenOverflows, ListenDrops, TCPReqQFullDrop,
TCPReqQFullDoCookies, SyncookiesSent/Recv/Failed (/proc/net/netstat) as
the growth since the previous sample (the first sample: since the
namespace began) and in total.

Flags: possible-syn-flood when half-open connections from many distinct
sources pile up on a listener (or its SYN queue is full while syncookies
are sent); accept-queue-full when the accept queue sits at its backlog
while ListenOverflows grow.

--watch D samples every D until interrupted (or --count samples); --json
prints one JSON object per sample, one per line (schema
tcpprobe-listeners/v1).`,
		Args:          usageArgs(cobra.NoArgs),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runListeners(cmd.Context(), o, s)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.JSON, "json", false, "print one JSON object per sample")
	f.DurationVar(&o.Watch, "watch", 0, "sample again every D (until interrupted or --count samples)")
	f.IntVar(&o.Count, "count", 0, "with --watch: stop after this many samples (0: until interrupted)")
	f.IntVar(&o.SYNRecv, "syn-flood-min", listeners.DefaultThresholds.SYNRecv, "half-open connections on one listener that, from --syn-flood-sources distinct sources or more, flag possible-syn-flood")
	f.IntVar(&o.Sources, "syn-flood-sources", listeners.DefaultThresholds.Sources, "distinct sources of half-open connections that flag possible-syn-flood")
	return cmd
}

func runListeners(ctx context.Context, o *listenersOptions, s Streams) error {
	if o.Watch < 0 || o.Count < 0 || o.SYNRecv < 1 || o.Sources < 1 {
		return usagef("--watch and --count must not be negative, --syn-flood-min and --syn-flood-sources must be 1 or more")
	}
	if o.Count > 0 && o.Watch == 0 {
		return usagef("--count needs --watch")
	}
	th := listeners.Thresholds{SYNRecv: o.SYNRecv, Sources: o.Sources}
	var prev *listeners.Sample
	for n := 1; ; n++ {
		cur, err := listeners.Snapshot()
		if err != nil {
			return err
		}
		listeners.Assess(prev, cur, th)
		if o.JSON {
			err = cur.WriteJSON(s.Out)
		} else {
			err = cur.WriteText(s.Out)
		}
		if err != nil {
			return err
		}
		prev = cur
		if o.Watch == 0 || (o.Count > 0 && n >= o.Count) {
			return nil
		}
		select {
		case <-time.After(o.Watch):
		case <-ctx.Done():
			return nil
		}
	}
}
