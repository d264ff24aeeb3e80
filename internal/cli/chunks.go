package cli

import (
	"iter"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Chunk sizes: how many targets one call of the engine's Run gets. Run
// takes a slice; until it has a streaming entry point, the plan's targets
// are fed to it in chunks, so memory is bounded by the chunks in flight
// (chunksInFlight), not by the run. A run of up to wholeRun targets is one
// chunk, one Run (a sweep of every port of a host waits for its slowest
// probe once); a bigger run goes in chunks of chunkSize, several at once.
// They are variables so a test can make chunks small.
var (
	wholeRun  int64 = 1 << 16
	chunkSize       = 1 << 12
)

// chunkFor is the chunk size of a run of total targets.
func chunkFor(total int64) int {
	if total <= wholeRun {
		return int(wholeRun)
	}
	return chunkSize
}

// eachChunk collects the targets seq yields into slices of at most size
// and calls fn with each, in order; it stops at fn's first error or the
// sequence's. A chunk is a new slice: the engine may still hold the last
// one's targets when fn returns.
func eachChunk(seq iter.Seq2[probe.Target, error], size int, fn func([]probe.Target) error) error {
	var chunk []probe.Target
	for t, err := range seq {
		if err != nil {
			return planError(err)
		}
		if chunk == nil {
			chunk = make([]probe.Target, 0, size)
		}
		chunk = append(chunk, t)
		if len(chunk) == size {
			if err := fn(chunk); err != nil {
				return err
			}
			chunk = nil
		}
	}
	if len(chunk) > 0 {
		return fn(chunk)
	}
	return nil
}
