package cli

import (
	"errors"
	"net/netip"
	"syscall"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// checkSourcePort refuses --source-port P, before anything is sent, when
// a socket of this host holds P in a family the targets use: bind(2)
// would refuse it to connect(2) with EADDRINUSE, and a raw probe from it
// could reset a connection that is not its own (issue 11). It asks with a
// real bind (rawsock.CheckSourcePort) on --source, or on the family's
// wildcard address as a program that binds only a port would. --mode
// connect needs no check: connect(2) binds the port itself and reports
// the kernel's own errno. A check that cannot be made (no IPv6 socket,
// a --source this host does not own) lets the run go on: the probe
// reports what stops it.
func (o *Options) checkSourcePort(cfg probe.Config, targets []probe.Target) error {
	if cfg.SourcePort == 0 || o.Mode == ModeConnect {
		return nil
	}
	checked := map[bool]bool{} // by "is IPv4"
	for _, t := range targets {
		v4 := t.Addr.Addr().Unmap().Is4()
		if checked[v4] {
			continue
		}
		checked[v4] = true
		src := netip.IPv6Unspecified()
		if v4 {
			src = netip.IPv4Unspecified()
		}
		if s := cfg.Source.Unmap(); s.IsValid() && s.Is4() == v4 {
			src = s
		}
		if err := rawsock.CheckSourcePort(src, cfg.SourcePort); errors.Is(err, syscall.EADDRINUSE) {
			return usagef("--source-port %d: %v; a probe from it could reset that connection: pick a free port or drop --source-port", cfg.SourcePort, err)
		}
	}
	return nil
}
