// Package labtest builds the namespace lab of package lab for a test: it
// skips the test when not root and removes the lab when the test ends. It
// is the only part of the lab that imports testing, so the shipped binary
// (whose selftest builds labs too) does not link it.
package labtest

import (
	"os"
	"runtime"
	"testing"

	"github.com/tcpprobe/tcpprobe/internal/lab"
)

// New builds the lab, or skips tb when not root (or not on Linux), and
// registers tb.Cleanup to remove it. When New returns, every scenario of the
// plan is in place, the router's neighbour entries for the client and the
// server are permanent, the client's and the server's entries for the router
// are warm (reachable), and the server listens on lab.ListenPorts in both
// families.
func New(tb testing.TB) *lab.Lab {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skipf("lab tests need Linux network namespaces, not available on %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		tb.Skip(lab.SkipNotRoot)
	}
	l, err := lab.Build(lab.KindTest)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("lab: cleanup of %s: %v", l.Prefix, err)
		}
	})
	return l
}
