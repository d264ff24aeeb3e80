package report

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Entry is one result as the writers see it: the probe's result, which
// repetition of -c it belongs to, and how it was probed.
type Entry struct {
	*probe.Result
	// Seq numbers the repetitions of -c N from 1; 0 when the run probes each
	// target once.
	Seq int
	// Mode is how the result was obtained: ModeRaw or ModeConnect.
	Mode string
}

// Probing modes an Entry can come from.
const (
	ModeRaw     = "raw"     // SYNs built and read over raw sockets
	ModeConnect = "connect" // the kernel's own connect(2)
)

// Writer receives results as probes finish. Summarize is called once,
// before Close, when the run repeated its probes (-c N). Close ends the
// output (the JSON document closes there) and must be called once, even
// after an interrupt.
type Writer interface {
	Write(e Entry) error
	Summarize(s []Summary) error
	Close() error
}

// Multi returns a Writer that writes to every w in turn and reports the
// first error.
func Multi(ws ...Writer) Writer { return multi(ws) }

type multi []Writer

func (m multi) Write(e Entry) error {
	var first error
	for _, w := range m {
		if err := w.Write(e); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m multi) Summarize(s []Summary) error {
	var first error
	for _, w := range m {
		if err := w.Summarize(s); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m multi) Close() error {
	var first error
	for _, w := range m {
		if err := w.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// NewJSON returns a Writer that prints one JSON document holding every
// result, written out as results come and finished at Close.
func NewJSON(w io.Writer) Writer { return &jsonWriter{w: w} }

// jsonWriter streams the document: its head and each result as it comes,
// the summaries and stats at Close, byte for byte what encoding/json's
// Encoder (indent "  ") writes for the whole Document, without holding
// every result (a 65,535-port sweep held ~900 MB that way).
type jsonWriter struct {
	w       io.Writer
	started bool // the head and `"results": [` are out
	n       int  // results written
	line    []byte
	out     bytes.Buffer
	sums    []Summary
	stats   *Stats
}

// start writes the document's head once.
func (j *jsonWriter) start() error {
	if j.started {
		return nil
	}
	j.started = true
	b := append(j.line[:0], "{\n  \"schema\": "...)
	b = appendString(b, Schema)
	b = append(b, ",\n  \"tool_version\": "...)
	b = appendString(b, Version)
	b = append(b, ",\n  \"results\": ["...)
	j.line = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) Write(e Entry) error {
	if err := j.start(); err != nil {
		return err
	}
	j.line = AppendEntry(j.line[:0], e)
	j.out.Reset()
	if j.n > 0 {
		j.out.WriteByte(',')
	}
	j.out.WriteString("\n    ")
	if err := json.Indent(&j.out, j.line[:len(j.line)-1], "    ", "  "); err != nil {
		return err
	}
	j.n++
	_, err := j.w.Write(j.out.Bytes())
	return err
}

func (j *jsonWriter) Summarize(s []Summary) error {
	j.sums = s
	return nil
}

// StatsWriter is a Writer that records the run's counters; the JSON
// document does.
type StatsWriter interface {
	SetStats(s Stats)
}

func (j *jsonWriter) SetStats(s Stats) { j.stats = &s }

func (m multi) SetStats(s Stats) {
	for _, w := range m {
		if sw, ok := w.(StatsWriter); ok {
			sw.SetStats(s)
		}
	}
}

// Close ends the results and writes the summaries and stats, the fields
// that follow them in Document.
func (j *jsonWriter) Close() error {
	if err := j.start(); err != nil {
		return err
	}
	j.out.Reset()
	if j.n > 0 {
		j.out.WriteString("\n  ")
	}
	j.out.WriteByte(']')
	for _, f := range []struct {
		name string
		v    any
		set  bool
	}{{"summaries", j.sums, len(j.sums) > 0}, {"stats", j.stats, j.stats != nil}} {
		if !f.set {
			continue
		}
		v, err := json.MarshalIndent(f.v, "  ", "  ")
		if err != nil {
			return err
		}
		j.out.WriteString(",\n  \"" + f.name + "\": ")
		j.out.Write(v)
	}
	j.out.WriteString("\n}\n")
	if _, err := j.w.Write(j.out.Bytes()); err != nil {
		return err
	}
	return flush(j.w)
}

// NewNDJSON returns a Writer that prints each result as one line of JSON
// as soon as it is decided: every line is written through to w at once
// (and w flushed when it has a Flush method).
func NewNDJSON(w io.Writer) Writer { return &ndjsonWriter{w: w, each: true} }

// NewNDJSONBatched returns an NDJSON Writer that leaves flushing w to its
// caller: it writes each line into w (typically a bufio.Writer over
// standard output) and flushes only when Flush or Close is called. The
// command calls Flush whenever the prober has handed on every result decided
// so far, so a consumer still sees each line promptly while a sweep of many
// ports costs one write per batch instead of one per port.
func NewNDJSONBatched(w io.Writer) Writer { return &ndjsonWriter{w: w} }

type ndjsonWriter struct {
	w    io.Writer
	each bool   // flush after every line
	buf  []byte // one line, reused
}

// Write prints one line, encoded by AppendEntry (the bytes encoding/json
// would write). os.Stdout is unbuffered, so with NewNDJSON the line is out
// when Write returns; a buffered writer is flushed when it has a Flush
// method.
func (n *ndjsonWriter) Write(e Entry) error {
	n.buf = AppendEntry(n.buf[:0], e)
	if _, err := n.w.Write(n.buf); err != nil {
		return err
	}
	if n.each {
		return flush(n.w)
	}
	return nil
}

// Flush flushes w when it has a Flush method.
func (n *ndjsonWriter) Flush() error { return flush(n.w) }

// Summarize prints one line per target and address, {"type":
// "summary", ...}, after the results.
func (n *ndjsonWriter) Summarize(sums []Summary) error {
	var err error
	if n.buf, err = appendSummaryNDJSON(n.buf[:0], sums); err != nil {
		return err
	}
	if _, err := n.w.Write(n.buf); err != nil {
		return err
	}
	return flush(n.w)
}

// Close flushes what is buffered.
func (n *ndjsonWriter) Close() error { return flush(n.w) }

// flush flushes w when it has a Flush method.
func flush(w io.Writer) error {
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Flusher is a Writer that buffers and can be told to write out what it
// holds; Flush(w) calls it.
type Flusher interface {
	Flush() error
}

// Flush writes out whatever w buffers, if it buffers.
func Flush(w Writer) error {
	if f, ok := w.(Flusher); ok {
		return f.Flush()
	}
	return nil
}

func (m multi) Flush() error {
	var first error
	for _, w := range m {
		if err := Flush(w); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// NewText returns a Writer for people: one line per probe and, when
// verbose, the timeline of every packet sent and seen beneath it.
func NewText(w io.Writer, verbose bool) Writer { return &textWriter{w: w, verbose: verbose} }

type textWriter struct {
	w       io.Writer
	verbose bool
	buf     []byte // one result's lines, reused
}

// Write prints the result's line (and timeline) with one write to w.
func (t *textWriter) Write(e Entry) error {
	r := e.Result
	b := t.buf[:0]
	if e.Seq > 0 {
		b = append(b, "seq="...)
		b = strconv.AppendInt(b, int64(e.Seq), 10)
		b = append(b, ' ')
	}
	b = appendLine(b, r)
	b = append(b, '\n')
	b = appendDiagnosisLine(b, r.Diagnosis)
	if t.verbose {
		for i := range r.Events {
			b = append(b, "    "...)
			b = append(b, timelineLine(r, &r.Events[i])...)
			b = append(b, '\n')
		}
	}
	b = appendLifeText(b, r, t.verbose)
	t.buf = b
	_, err := t.w.Write(b)
	return err
}

// Flush flushes w when it has a Flush method.
func (t *textWriter) Flush() error { return flush(t.w) }

// Summarize prints a ping-like block per target and address: probes
// sent, answered, loss, outcomes and round trips.
func (t *textWriter) Summarize(sums []Summary) error { return writeSummaryText(t.w, sums) }

// Close flushes what is buffered.
func (t *textWriter) Close() error { return flush(t.w) }
