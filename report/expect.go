package report

import (
	"fmt"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Expectations --expect accepts.
var Expectations = []string{"open", "refused", "unreachable", "timeout", "closed", "unfiltered", "filtered"}

// ParseExpect checks an --expect value.
func ParseExpect(v string) (string, error) {
	for _, e := range Expectations {
		if v == e {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown expectation %q: want one of open, refused, unreachable, timeout, closed, unfiltered, filtered (the last two with --scan ack)", v)
}

// Met reports whether r met its expectation. Without one, only an open
// port meets it. "closed" is anything but open that was really decided
// (refused, unreachable, timeout, local-error). An interrupted probe never
// meets an expectation.
func Met(r *probe.Result) bool {
	if r.Outcome == probe.Interrupted {
		return false
	}
	switch r.Expect {
	case "", "open":
		return r.Outcome == probe.Open
	case "closed":
		return r.Outcome != probe.Open
	case "unreachable":
		return r.Outcome == probe.Unreachable || r.Outcome == probe.LocalError
	default:
		return string(r.Outcome) == r.Expect
	}
}
