package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Exit codes, documented in README and the man page.
const (
	ExitOK          = 0   // every probe met its expectation
	ExitUnmet       = 1   // at least one probe did not
	ExitUsage       = 2   // bad usage or input; nothing was sent
	ExitEnvironment = 3   // the environment stopped the tool: no CAP_NET_RAW, unusable interface
	ExitInterrupted = 130 // SIGINT or SIGTERM
)

// UsageError is bad usage or input, found before anything was sent.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error { return &UsageError{Err: fmt.Errorf(format, a...)} }

// errUnmet says some probe missed its expectation; its results are the
// message.
var errUnmet = errors.New("some probes did not meet their expectation")

// exitCode maps the error a command returned to the process exit code and
// prints what the user needs to know. It is the only place that does.
func exitCode(err error, stderr io.Writer) int {
	var ue *UsageError
	var ee *probe.EnvError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errUnmet):
		return ExitUnmet
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "tcpprobe: interrupted")
		return ExitInterrupted
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tcpprobe: %v (see tcpprobe --help)\n", oneLine(ue.Err))
		return ExitUsage
	case errors.As(err, &ee):
		if errors.Is(ee.Err, os.ErrPermission) {
			fmt.Fprintf(stderr, "tcpprobe: %s: tcpprobe needs CAP_NET_RAW to send its own SYNs: run it as root (sudo tcpprobe ...) or grant the capability once with: sudo setcap cap_net_raw+ep \"$(command -v tcpprobe)\"\n", errorOnce(ee.Err))
		} else {
			fmt.Fprintf(stderr, "tcpprobe: %v\n", ee.Err)
		}
		return ExitEnvironment
	default:
		fmt.Fprintf(stderr, "tcpprobe: %v\n", err)
		return ExitEnvironment
	}
}

// oneLine keeps a usage error on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
