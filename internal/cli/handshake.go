package cli

import (
	"os"
	"regexp"
	"time"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/lifecycle"
	"github.com/tcpprobe/tcpprobe/probe"
)

// lifeOptions are the flags that follow a connection past the SYN-ACK
// (--handshake full, --send, --expect-banner, --close, --scan ack).
type lifeOptions struct {
	Handshake    string
	Send         string
	ExpectBanner string
	Close        string
	CloseTimeout time.Duration
	Hold         time.Duration
	Scan         string
}

// Values of --handshake and --scan.
const (
	handshakeSYN  = "syn"  // the default: stop at the SYN-ACK
	handshakeFull = "full" // complete it, talk, close
	scanSYN       = "syn"
	scanACK       = "ack"
)

// addLifeFlags registers the connection-life flags on cmd.
func (o *Options) addLifeFlags(cmd *cobra.Command) {
	f, l := cmd.Flags(), &o.Life
	f.StringVar(&l.Handshake, "handshake", "", "syn (default): stop at the SYN-ACK (tear down with RST); full: complete the handshake with the kernel's TCP, optionally --send and --expect-banner, then --close, recording every segment both ways")
	f.StringVar(&l.Send, "send", "", "with --handshake full: send DATA once connected (@FILE reads a file; \\r \\n \\t \\\\ \\xHH escapes)")
	f.StringVar(&l.ExpectBanner, "expect-banner", "", "with --handshake full: read until what arrived matches REGEX (or --timeout) and report whether it did")
	f.StringVar(&l.Close, "close", "", "with --handshake full: end with fin (default: shutdown, wait for the server's FIN) or rst (SO_LINGER 0: an abortive close)")
	f.DurationVar(&l.CloseTimeout, "close-timeout", 0, "with --handshake full --close fin: how long to wait for the server's FIN (default 2s)")
	f.DurationVar(&l.Hold, "hold", 0, "with --handshake full: keep the connection open this long after the data, reading (ends early at the server's FIN)")
	f.StringVar(&l.Scan, "scan", "", "syn (default): SYN probes; ack: a bare ACK per target: an RST back is unfiltered, silence or an ICMP error filtered")
}

// lifeRunner returns what runs the probes of a raw round: the Prober's Run,
// or a connection-life engine when --handshake full or --scan ack asks for
// one. It validates the flags first; nothing has been sent.
func (o *Options) lifeRunner(cfg probe.Config, raw runFunc) (runFunc, error) {
	l := o.Life // defaults filled in a copy: Options keeps what was given
	if l.Handshake == "" {
		l.Handshake = handshakeSYN
	}
	if l.Scan == "" {
		l.Scan = scanSYN
	}
	closeGiven := l.Close != "" || l.CloseTimeout != 0
	if l.Close == "" {
		l.Close = lifecycle.CloseFIN
	}
	if l.CloseTimeout == 0 {
		l.CloseTimeout = lifecycle.DefaultCloseTimeout
	}
	switch l.Handshake {
	case handshakeSYN, handshakeFull:
	default:
		return nil, usagef("--handshake %q: want syn or full", l.Handshake)
	}
	switch l.Scan {
	case scanSYN, scanACK:
	default:
		return nil, usagef("--scan %q: want syn or ack", l.Scan)
	}
	full, ack := l.Handshake == handshakeFull, l.Scan == scanACK
	if !full && (l.Send != "" || l.ExpectBanner != "" || closeGiven || l.Hold != 0) {
		return nil, usagef("--send, --expect-banner, --close, --close-timeout and --hold need --handshake full")
	}
	if !full && !ack {
		return raw, nil
	}
	if full && ack {
		return nil, usagef("--handshake full and --scan ack cannot be used together: pick one")
	}
	if o.Mode == ModeConnect {
		return nil, usagef("--handshake full and --scan ack record packets: they cannot run with --mode connect")
	}
	if o.Count > 1 {
		return nil, usagef("-c %d with --handshake full or --scan ack is not supported: run them once per invocation", o.Count)
	}
	if ack {
		return lifecycle.NewACKScanner(lifecycle.ACKConfig{Profile: cfg.Profile, Interface: cfg.Interface,
			Source: cfg.Source, SourcePort: cfg.SourcePort, TTL: cfg.TTL, Ready: cfg.Ready}).Run, nil
	}
	hc := lifecycle.Config{Profile: cfg.Profile, Interface: cfg.Interface, Source: cfg.Source,
		SourcePort: cfg.SourcePort, Close: l.Close, CloseTimeout: l.CloseTimeout, Hold: l.Hold,
		Timeout: o.Timeout, Ready: cfg.Ready}
	switch l.Close {
	case lifecycle.CloseFIN, lifecycle.CloseRST:
	default:
		return nil, usagef("--close %q: want fin or rst", l.Close)
	}
	if l.CloseTimeout <= 0 || l.Hold < 0 {
		return nil, usagef("--close-timeout must be positive and --hold not negative")
	}
	if l.Send != "" {
		b, err := lifecycle.ParseSend(l.Send, os.ReadFile)
		if err != nil {
			return nil, usagef("%v", err)
		}
		hc.Send = b
	}
	if l.ExpectBanner != "" {
		re, err := regexp.Compile(l.ExpectBanner)
		if err != nil {
			return nil, usagef("--expect-banner: %v", err)
		}
		hc.Banner = re
	}
	return lifecycle.NewHandshaker(hc).Run, nil
}
