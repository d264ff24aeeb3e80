package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/internal/selftest"
	"github.com/tcpprobe/tcpprobe/probe"
)

func newSelftestCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "selftest",
		Short: "Prove tcpprobe works on this host, in a throwaway namespace lab (root)",
		Long: `selftest builds a throwaway client — router — server lab of network
namespaces (tps-<pid>-<random>-c/-r/-s, the lab the end-to-end tests use;
addresses in 198.18.0.0/15 and fd00::/8 only,
so nothing leaves this host), probes one target of every outcome class (open,
refused, unreachable, timeout, local-error) in both IP families through the
real probe path inside the client namespace, prints expected vs seen for
each, and removes the lab, also when interrupted.

It needs root (namespaces), and ip and nft. Exit status 0 when every class
was seen as expected, 1 when one was not, 3 when the host cannot run it.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				exe = "/proc/self/exe"
			}
			err = selftest.Run(cmd.Context(), exe, s.Out)
			var ee *selftest.EnvError
			switch {
			case errors.Is(err, selftest.ErrMismatch):
				return errUnmet
			case errors.As(err, &ee):
				return &probe.EnvError{Err: ee.Err}
			}
			return err
		},
	}
}
