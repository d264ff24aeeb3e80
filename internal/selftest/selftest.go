package selftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/report"
)

// Case is one outcome class: a target in the lab and what probing it must
// report.
type Case struct {
	Class   string // open, refused, unreachable, timeout, local-error
	Family  string // ipv4 or ipv6
	Target  string
	Outcome string
	Errno   string
}

// Cases are the outcome classes the self-test runs, in the order printed.
var Cases = []Case{
	{"open", "ipv4", hostPort(lab.ServerV4, lab.PortOpen), "open", ""},
	{"refused", "ipv4", hostPort(lab.ServerV4, lab.PortClosed), "refused", "ECONNREFUSED"},
	{"unreachable", "ipv4", hostPort(lab.ServerV4, lab.PortRejectHost), "unreachable", "EHOSTUNREACH"},
	{"timeout", "ipv4", hostPort(lab.ServerV4, lab.PortDrop), "timeout", "ETIMEDOUT"},
	{"local-error", "ipv4", hostPort(lab.ClientUnreachV4, lab.PortOpen), "local-error", "EHOSTUNREACH"},
	{"open", "ipv6", hostPort(lab.ServerV6, lab.PortOpen), "open", ""},
	{"refused", "ipv6", hostPort(lab.ServerV6, lab.PortClosed), "refused", "ECONNREFUSED"},
	{"unreachable", "ipv6", hostPort(lab.ServerV6, lab.PortRejectHost), "unreachable", "EHOSTUNREACH"},
	{"timeout", "ipv6", hostPort(lab.ServerV6, lab.PortDrop), "timeout", "ETIMEDOUT"},
	{"local-error", "ipv6", hostPort(lab.ClientUnreachV6, lab.PortOpen), "local-error", "EHOSTUNREACH"},
}

func hostPort(a netip.Addr, port uint16) string { return netip.AddrPortFrom(a, port).String() }

// ProbeArgs are the arguments the re-executed tcpprobe gets before the
// targets: JSON out, and a short schedule so the timeout class takes
// 1.5 s rather than 75.
var ProbeArgs = []string{"--json", "--mode", "raw", "--schedule", "0,300ms,600ms/1500ms"}

// ErrMismatch says some outcome class was not seen as expected.
var ErrMismatch = errors.New("selftest: some outcome classes were not seen as expected")

// EnvError is a host that cannot run the self-test (no root, no ip/nft).
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *EnvError) Unwrap() error { return e.Err }

// Compare checks the JSON document tcpprobe printed against Cases and
// writes the expected-vs-seen table to w. It returns ErrMismatch when any
// class differs.
func Compare(w io.Writer, out []byte) error {
	var doc report.Document
	if err := json.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("selftest: tcpprobe's output is not its JSON document: %v\n%s", err, out)
	}
	seen := map[string]*report.Result{}
	for _, r := range doc.Results {
		seen[r.Target] = r
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tFAMILY\tTARGET\tEXPECTED\tSEEN\t")
	bad := 0
	for _, c := range Cases {
		want := strings.TrimSpace(c.Outcome + " " + c.Errno)
		got, verdict := "no result", "MISMATCH"
		if r := seen[c.Target]; r != nil {
			got = strings.TrimSpace(r.Outcome + " " + r.Errno)
			if r.Reason != "" {
				got += " (" + r.Reason + ")"
			}
			if r.Outcome == c.Outcome && r.Errno == c.Errno {
				verdict = "ok"
			}
		}
		if verdict != "ok" {
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Class, c.Family, c.Target, want, got, verdict)
	}
	tw.Flush()
	if bad > 0 {
		fmt.Fprintf(w, "selftest FAILED: %d of %d outcome classes not as expected\n", bad, len(Cases))
		return ErrMismatch
	}
	fmt.Fprintf(w, "selftest passed: %d of %d outcome classes as expected\n", len(Cases), len(Cases))
	return nil
}
