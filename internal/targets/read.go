package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Source is a target file: its name for messages and how to read it from
// its start. Open is called twice: once to check the file and count its
// targets, once to expand them.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// scan reads a target file line by line and calls fn with each target.
func scan(src Source, opt Options, fn func(sp *Spec) error) error {
	rc, err := src.Open()
	if err != nil {
		return fmt.Errorf("target file %s: %w", src.Name, unwrapPath(err))
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		sp, ok, err := ParseLine(sc.Text(), opt.Services, opt.CheckExpect)
		where := fmt.Sprintf("%s:%d", src.Name, line)
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if !ok {
			continue
		}
		sp.Where = where
		if err := fn(&sp); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading target file %s: %v", src.Name, err)
	}
	return nil
}

// unwrapPath drops the *PathError's repetition of the file name.
func unwrapPath(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// readExcludes builds the exclusion set: --exclude lists (items separated
// by commas or spaces) and --exclude-file lines, in the target syntax
// with the port optional; a name stands for every address it resolves to.
func (p *Plan) readExcludes(ctx context.Context, lists []string, files []Source) error {
	add := func(sp *Spec, where string) error {
		set := sp.set
		if sp.name != "" {
			addrs, err := resolve(ctx, p.opt.Resolver, sp.name, "ip", true)
			if err != nil {
				return fmt.Errorf("%s: %v", where, err)
			}
			set = nameSet(addrs)
		}
		if p.exclude == nil {
			p.exclude = &Exclude{}
		}
		if ns, ok := set.(nameSet); ok {
			for _, a := range ns {
				p.exclude.add(single{a}, sp.Ports)
			}
			return nil
		}
		p.exclude.add(set, sp.Ports)
		return nil
	}
	for _, l := range lists {
		for item := range strings.FieldsFuncSeq(l, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			sp, err := ParseTarget(item, p.opt.Services)
			if err != nil {
				return fmt.Errorf("--exclude: %v", err)
			}
			if err := add(&sp, "--exclude"); err != nil {
				return err
			}
		}
	}
	for _, f := range files {
		opt := p.opt
		opt.CheckExpect = func(string) error { return errors.New("expect= has no meaning in an exclude file") }
		err := scan(f, opt, func(sp *Spec) error { return add(sp, sp.Where) })
		if err != nil {
			return fmt.Errorf("--exclude-file: %v", err)
		}
	}
	return nil
}
