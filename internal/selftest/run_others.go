//go:build !linux

package selftest

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// Run is not implemented outside Linux: the lab is made of Linux network
// namespaces.
func Run(ctx context.Context, exe string, w io.Writer) error {
	return &EnvError{Err: fmt.Errorf("selftest is not implemented on %s: it builds Linux network namespaces", runtime.GOOS)}
}
