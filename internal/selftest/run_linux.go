package selftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
)

// Run builds the namespace lab the end-to-end tests use (internal/lab, kind
// tps), probes every Case with the tcpprobe binary exe inside the client
// namespace, prints expected vs seen to w and removes the lab. It returns
// ErrMismatch when some class was not as expected, an *EnvError when the
// host cannot run it, ctx.Err() when interrupted.
func Run(ctx context.Context, exe string, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return &EnvError{Err: errors.New("selftest needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to build network namespaces: run sudo tcpprobe selftest")}
	}
	l, err := lab.Build(lab.KindSelftest)
	if err != nil {
		return &EnvError{Err: fmt.Errorf("selftest: %w", err)}
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err == nil || errors.Is(err, ErrMismatch) {
			fmt.Fprintf(w, "lab %s-* removed\n", l.Prefix)
		}
	}()
	fmt.Fprintf(w, "built lab %s-{c,r,s} in %v: client %s %s — router — server %s %s\n",
		l.Prefix, l.BuildTime.Round(time.Millisecond), lab.ClientV4, lab.ClientV6, lab.ServerV4, lab.ServerV6)
	targets := make([]string, 0, len(Cases))
	for _, c := range Cases {
		targets = append(targets, c.Target)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := l.Command(pctx, l.Client, exe, append(append([]string(nil), ProbeArgs...), targets...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	fmt.Fprintf(w, "probing in %s: tcpprobe %s %s\n", l.Client, strings.Join(ProbeArgs, " "), strings.Join(targets, " "))
	rerr := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	// tcpprobe exits 1 when some probe is not open; the table below says
	// whether each is what it must be.
	if rerr != nil && !(errors.As(rerr, &ee) && ee.ExitCode() == 1) {
		return fmt.Errorf("selftest: running tcpprobe in the lab: %v\n%s", rerr, stderr.Bytes())
	}
	return Compare(w, out.Bytes())
}
