package cli

import (
	"iter"

	"github.com/tcpprobe/tcpprobe/probe"
)

// chunkSize is how many targets one call of the engine's Run gets. Run
// takes a slice; until it has a streaming entry point, the plan's targets
// are fed to it in chunks, so a run of a million targets holds at most
// this many at once (and their probes' state).
const chunkSize = 1 << 16

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
