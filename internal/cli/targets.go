package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/internal/targets"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// Resolver looks host names up; *net.Resolver is one.
type Resolver = targets.Resolver

// DefaultMaxProbes is --max-probes' default: a run that would send more
// first SYNs than this (targets × -c rounds) is taken for a typo.
const DefaultMaxProbes = 1 << 20

// TargetOptions are the flags that say what to probe, beside -p, -f, -4,
// -6 and --all-addresses.
type TargetOptions struct {
	Exclude      []string
	ExcludeFiles []string
	MaxProbes    int64
}

// addTargetFlags registers the target flags of this file.
func addTargetFlags(cmd *cobra.Command, o *Options) {
	f := cmd.Flags()
	f.StringArrayVar(&o.Exclude, "exclude", nil, "leave these out: addresses, prefixes, ranges or names, with or without :PORT, separated by commas; may be repeated")
	f.StringArrayVar(&o.ExcludeFiles, "exclude-file", nil, "leave out the targets of FILE (the target file syntax, without expect=); may be repeated")
	f.Int64Var(&o.MaxProbes, "max-probes", DefaultMaxProbes, "refuse a run of more probes than this (targets × -c; -c 0 counts one round), a guard against a typo in a prefix or range; 0: no limit")
}

// plan reads every target (arguments, then -f files in order, less the
// exclusions) and checks it: names resolved, targets counted. Errors are
// usage errors: nothing has been sent. done releases what the plan holds
// (standard input kept in a temporary file).
func (o *Options) plan(ctx context.Context, args []string, s Streams, env Env) (p *targets.Plan, done func(), err error) {
	var closers []io.Closer
	done = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	defer func() {
		if err != nil {
			done()
		}
	}()
	stdinUsed := false
	source := func(flag, name string) (targets.Source, error) {
		if name != "-" {
			if _, err := os.Stat(name); err != nil {
				return targets.Source{}, usagef("%s %s: %v", flag, name, errors.Unwrap(err))
			}
			return targets.Source{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(name) }}, nil
		}
		if stdinUsed {
			return targets.Source{}, usagef("%s - given twice: standard input can be read once", flag)
		}
		stdinUsed = true
		if s.In == nil {
			return targets.Source{}, usagef("%s -: no standard input", flag)
		}
		open, c, err := spool(s.In)
		if err != nil {
			return targets.Source{}, usagef("%s -: reading standard input: %v", flag, err)
		}
		closers = append(closers, c)
		return targets.Source{Name: "<stdin>", Open: open}, nil
	}
	var files, exFiles []targets.Source
	for _, name := range o.Files {
		src, err := source("-f", name)
		if err != nil {
			return nil, done, err
		}
		files = append(files, src)
	}
	for _, name := range o.ExcludeFiles {
		src, err := source("--exclude-file", name)
		if err != nil {
			return nil, done, err
		}
		exFiles = append(exFiles, src)
	}
	if len(args) == 0 && len(files) == 0 {
		return nil, done, usagef("no targets: give HOST:PORT, [IPv6]:PORT, HOST with -p PORTS, a prefix or range, or -f FILE")
	}
	topt := targets.Options{
		Family:       o.family(),
		AllAddresses: o.AllAddrs,
		Expect:       o.Expect,
		CheckExpect:  func(v string) error { _, err := report.ParseExpect(v); return err },
		Resolver:     env.Resolver,
		Interface:    o.Interface,
		Unique:       o.SourcePort != 0,
	}
	if o.MaxProbes < 0 {
		return nil, done, usagef("--max-probes %d: want 0 (no limit) or more", o.MaxProbes)
	}
	if o.MaxProbes > 0 {
		topt.MaxTargets = max(o.MaxProbes/int64(max(o.Count, 1)), 1)
	}
	if o.Ports != "" {
		var err error
		if topt.Ports, err = targets.ParsePorts(o.Ports, targets.HostServices()); err != nil {
			return nil, done, usagef("-p: %v", err)
		}
	}
	if topt.Resolver == nil {
		topt.Resolver = net.DefaultResolver
	}
	p, err = targets.NewPlan(ctx, topt, args, files, o.Exclude, exFiles)
	var tm *targets.TooManyError
	switch {
	case err == nil:
		return p, done, nil
	case errors.Is(err, context.Canceled):
		return nil, done, err
	case errors.As(err, &tm):
		return nil, done, usagef("%s would make the run more than %d probes: check it for a typo, or allow it with --max-probes N (0: no limit)", tm.Where, o.MaxProbes)
	}
	return nil, done, &UsageError{Err: err}
}

// familyTargets stands one target for each family the plan probes, for
// checks that only need to know which families a run uses.
func familyTargets(p *targets.Plan) []probe.Target {
	var out []probe.Target
	v4, v6 := p.Families()
	if v4 {
		out = append(out, probe.Target{Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), 0)})
	}
	if v6 {
		out = append(out, probe.Target{Addr: netip.AddrPortFrom(netip.IPv6Unspecified(), 0)})
	}
	return out
}

// spool keeps standard input for the two passes of a plan: in an unlinked
// temporary file, or in memory where no file can be made.
func spool(in io.Reader) (open func() (io.ReadCloser, error), c io.Closer, err error) {
	f, ferr := os.CreateTemp("", "tcpprobe-targets-*")
	if ferr != nil {
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, nil, err
		}
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, io.NopCloser(nil), nil
	}
	os.Remove(f.Name())
	n, err := io.Copy(f, in)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(f, 0, n)), nil }, f, nil
}

// planError says what a target that went wrong while the run streamed
// its targets was (a target file changed since it was checked).
func planError(err error) error {
	return fmt.Errorf("reading targets: %w", err)
}
