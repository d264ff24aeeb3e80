// Command tcpprobe tells whether host:port can be reached and, if not,
// exactly why, the way connect(2) would, from packets it builds and reads
// itself. See tcpprobe(1) or `tcpprobe --help`.
package main

import (
	"context"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/tcpprobe/tcpprobe/internal/cli"
	"github.com/tcpprobe/tcpprobe/probe"
	"golang.org/x/term"
)

func main() {
	probe.UseSweepProcs()
	var env cli.Env
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// A sweep allocates per probe and keeps most of it to the end:
		// fewer GC cycles for some heap headroom. GOGC or GOMEMLIMIT in
		// the environment still decide.
		debug.SetGCPercent(200)
		env.Planned = sizeGC
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.MainEnv(ctx, os.Args[1:], cli.Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}, env)
	stop()
	os.Exit(code)
}

// gcFreeHeap is the most heap a run may plan to hold and still run without
// garbage collection; gcLimit is the memory limit that then backstops the
// plan. Collecting a heap that is mostly live probe state only costs time:
// on the 65,535-port lab sweep (about 120 MB without GC) skipping it took
// the wall time from 0.49 to 0.46 s.
const (
	gcFreeHeap = 256 << 20
	gcLimit    = 768 << 20
	streamGOGC = 75
)

// sizeGC turns the garbage collector off for a run whose probes hold at
// most maxHeap bytes, when that is small; the memory limit still starts a
// collection should the bound ever be wrong. A run that keeps more gets
// GOGC 200. A run that lets go of its probes as they are decided (maxHeap
// < 0: a streamed run, or connect(2)) gets GOGC 75: its live heap is what
// is in flight, about 530 bytes a probe at most, and its peak is that plus
// GOGC percent. Measured on a 70,000-target stream of silent targets
// (scripts/targets-million.sh), in RSS per probe in flight: 1,047 bytes at
// GOGC 100, 863 at 75, 787 at 60; a million-target stream took the same
// time at 75 as at 100 (12 s), and 15-25 % longer at 50.
func sizeGC(maxHeap int64) {
	switch {
	case maxHeap < 0:
		debug.SetGCPercent(streamGOGC)
		debug.SetMemoryLimit(math.MaxInt64)
	case maxHeap > gcFreeHeap:
		debug.SetGCPercent(200)
		debug.SetMemoryLimit(math.MaxInt64)
	default:
		debug.SetMemoryLimit(gcLimit)
		debug.SetGCPercent(-1)
	}
}
