package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Plan.
type Options struct {
	Ports        []uint16 // -p: the ports of targets written without one
	Family       string   // "ip" (or ""), "ip4" or "ip6": narrows names; addresses must match
	AllAddresses bool     // a name stands for every address it resolves to, not the first
	Expect       string   // the run's expectation, for targets without their own
	// CheckExpect validates an expect= of a target file (nil: any word).
	CheckExpect func(string) error
	Resolver    Resolver // nil: net.DefaultResolver
	Services    Services // nil: HostServices()
	// Interface is --interface: a zone that names another interface is
	// an error.
	Interface string
	// MaxTargets stops the plan with a *TooManyError as soon as the
	// targets outnumber it (0: no limit).
	MaxTargets int64
	// Unique makes two targets with one address and port an error (one
	// --source-port cannot carry both).
	Unique bool
}

// Source is a target file: its name for messages and how to read it from
// its start. Open is called twice: once to check the file and count its
// targets, once to expand them.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// TooManyError says the targets expand to more than Options.MaxTargets.
type TooManyError struct {
	AtLeast int64  // targets counted when the plan stopped
	Limit   int64  // Options.MaxTargets
	Where   string // the target that crossed the limit, as written
}

func (e *TooManyError) Error() string {
	return fmt.Sprintf("%s expands to more than %d targets", e.Where, e.Limit)
}

// Plan is the checked input of a run, ready to expand.
type Plan struct {
	opt     Options
	args    []Spec
	files   []Source
	names   map[string][]netip.Addr // resolved once, used by every pass
	exclude *Exclude
	total   int64

	// Used while checking only.
	expects map[netip.AddrPort]expectAt
	seen    map[netip.AddrPort]string
}

// expectAt is an expectation and where it was written.
type expectAt struct{ expect, where string }

// NewPlan reads every input once, before anything is sent: the targets
// given as arguments, each target file (streamed; nothing of it is kept),
// the exclusions. It resolves every name, counts the targets, and
// returns an error for anything wrong: bad syntax, a name that does not
// resolve, a target without a port, two expectations for one destination,
// more targets than Options.MaxTargets.
func NewPlan(ctx context.Context, opt Options, args []string, files []Source, exclude []string, excludeFiles []Source) (*Plan, error) {
	if opt.Services == nil {
		opt.Services = HostServices()
	}
	if opt.Resolver == nil {
		opt.Resolver = net.DefaultResolver
	}
	if opt.Family == "" {
		opt.Family = "ip"
	}
	p := &Plan{opt: opt, files: files, names: map[string][]netip.Addr{}}
	if err := p.readExcludes(ctx, exclude, excludeFiles); err != nil {
		return nil, err
	}
	for _, a := range args {
		sp, err := ParseTarget(a, opt.Services)
		if err == nil {
			err = p.check(ctx, &sp)
		}
		if err != nil {
			return nil, err
		}
		p.args = append(p.args, sp)
	}
	for _, f := range files {
		n := 0
		err := scan(f, opt, func(sp *Spec) error {
			n++
			return p.check(ctx, sp)
		})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("target file %s has no targets: write one HOST:PORT per line ('#' starts a comment)", f.Name)
		}
	}
	p.expects, p.seen = nil, nil
	return p, nil
}

// Total is the number of targets the plan expands to: exact, except
// that exclusions of single ports of a prefix or range, and any
// exclusion inside an octet range of more than 4,194,304 addresses, are
// not subtracted (the total is then an upper bound).
func (p *Plan) Total() int64 { return p.total }

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

// at prefixes an error with where the target was written.
func at(sp *Spec, err error) error {
	if sp.Where == "" {
		return err
	}
	return fmt.Errorf("%s: %w", sp.Where, err)
}

// check resolves sp's name, checks its family, ports and zone, counts
// its targets and records its destinations where expectations or
// uniqueness need it.
func (p *Plan) check(ctx context.Context, sp *Spec) error {
	if sp.Ports == nil && p.opt.Ports == nil {
		if !sp.bracket && strings.Count(sp.Text, ":") > 1 {
			return at(sp, bracketHint(sp.Text))
		}
		hint := "HOST:PORT"
		if sp.bracket {
			hint = "[ADDR]:PORT"
		}
		return at(sp, fmt.Errorf("target %q has no port: write %s or give -p PORTS", sp.Text, hint))
	}
	if err := p.checkAddrs(ctx, sp); err != nil {
		return at(sp, err)
	}
	n := p.count(sp)
	p.total += n
	if p.opt.MaxTargets > 0 && p.total > p.opt.MaxTargets {
		return &TooManyError{AtLeast: p.total, Limit: p.opt.MaxTargets, Where: sp.Text}
	}
	if sp.Expect == "" && !p.opt.Unique {
		return nil
	}
	where := sp.Where
	if where == "" {
		where = "the command line"
	}
	var err error
	p.each(sp, func(t probe.Target) bool {
		key := netip.AddrPortFrom(t.Addr.Addr().WithZone(""), t.Addr.Port())
		if p.opt.Unique {
			if w, dup := p.seen[key]; dup {
				err = fmt.Errorf("%s is given twice (%s and %s) and one --source-port cannot carry both: drop --source-port or the duplicate", key, w, where)
				return false
			}
			if p.seen == nil {
				p.seen = map[netip.AddrPort]string{}
			}
			p.seen[key] = where
		}
		if sp.Expect != "" {
			if e, ok := p.expects[key]; ok && e.expect != sp.Expect {
				err = fmt.Errorf("%s is expected both %s (%s) and %s (%s): keep one expectation per destination", key, e.expect, e.where, sp.Expect, where)
				return false
			}
			if p.expects == nil {
				p.expects = map[netip.AddrPort]expectAt{}
			}
			p.expects[key] = expectAt{sp.Expect, where}
		}
		return true
	})
	return err
}

// checkAddrs resolves a name (once per run) and checks an address set
// against -4/-6, a zone against the host's interfaces.
func (p *Plan) checkAddrs(ctx context.Context, sp *Spec) error {
	fam := p.opt.Family
	if sp.name != "" {
		if _, ok := p.names[sp.name]; ok {
			return nil
		}
		addrs, err := resolve(ctx, p.opt.Resolver, sp.name, fam, p.opt.AllAddresses)
		if err != nil {
			return err
		}
		p.names[sp.name] = addrs
		return nil
	}
	if (fam == "ip4" && !sp.set.isV4()) || (fam == "ip6" && sp.set.isV4()) {
		f := fam[2:]
		if _, ok := sp.set.(single); ok {
			return fmt.Errorf("address %s does not match -%s: drop -%s or give an IPv%s address", sp.Host, f, f, f)
		}
		return fmt.Errorf("%s does not match -%s: drop -%s or give IPv%s addresses", sp.Host, f, f, f)
	}
	if s, ok := sp.set.(single); ok && s.a.Zone() != "" {
		a, err := p.zone(s.a)
		if err != nil {
			return fmt.Errorf("target %q: %v", sp.Text, err)
		}
		sp.set = single{a}
	}
	return nil
}

// zone checks that a's zone names an interface of this host (a number is
// taken as an interface index) and returns a with the interface's name.
func (p *Plan) zone(a netip.Addr) (netip.Addr, error) {
	z := a.Zone()
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		var idx int
		if _, serr := fmt.Sscanf(z, "%d", &idx); serr == nil {
			ifi, err = net.InterfaceByIndex(idx)
		}
	}
	if err != nil {
		return a, fmt.Errorf("zone %q is not an interface of this host (see ip link)", z)
	}
	if p.opt.Interface != "" && p.opt.Interface != ifi.Name {
		return a, fmt.Errorf("zone %q and --interface %s name different interfaces: drop one", z, p.opt.Interface)
	}
	return a.WithZone(ifi.Name), nil
}

// addrs returns sp's addresses as a set.
func (p *Plan) addrs(sp *Spec) addrSet {
	if sp.name != "" {
		return nameSet(p.names[sp.name])
	}
	return sp.set
}

// ports returns sp's ports.
func (p *Plan) ports(sp *Spec) []uint16 {
	if sp.Ports != nil {
		return sp.Ports
	}
	return p.opt.Ports
}

// count is the number of targets of sp, exclusions left out (see Total).
func (p *Plan) count(sp *Spec) int64 {
	ports := p.ports(sp)
	set := p.addrs(sp)
	ex := p.exclude
	if ns, ok := set.(nameSet); ok || isSingle(set) {
		if !ok {
			ns = nameSet{set.(single).a}
		}
		var n int64
		for _, a := range ns {
			if ex.allPorts(a) {
				continue
			}
			for _, port := range ports {
				if !ex.Excluded(a, port) {
					n++
				}
			}
		}
		return n
	}
	c := set.count(ex)
	if c.hi != 0 || c.lo > 1<<62/uint64(len(ports)) {
		return 1 << 62
	}
	return int64(c.lo) * int64(len(ports))
}

func isSingle(s addrSet) bool { _, ok := s.(single); return ok }

// nameSet is the addresses of a name, in the order they are probed.
type nameSet []netip.Addr

func (n nameSet) count(ex *Exclude) u128 {
	var c u128
	for _, a := range n {
		if !ex.allPorts(a) {
			c = c.inc()
		}
	}
	return c
}
func (n nameSet) each(yield func(netip.Addr) bool) bool {
	for _, a := range n {
		if !yield(a) {
			return false
		}
	}
	return true
}
func (n nameSet) isV4() bool { return len(n) > 0 && n[0].Is4() }

// each calls yield with every target of sp, exclusions left out, address
// by address, port by port.
func (p *Plan) each(sp *Spec, yield func(probe.Target) bool) bool {
	ports := p.ports(sp)
	expect := sp.Expect
	if expect == "" {
		expect = p.opt.Expect
	}
	set := p.addrs(sp)
	_, named := set.(nameSet)
	asWritten := named || isSingle(set)
	ex := p.exclude
	return set.each(func(a netip.Addr) bool {
		if ex.allPorts(a) {
			return true
		}
		for _, port := range ports {
			if ex.Excluded(a, port) {
				continue
			}
			ap := netip.AddrPortFrom(a, port)
			name := ""
			if asWritten {
				name = sp.hostPort(port)
			} else {
				name = ap.String()
			}
			if !yield(probe.Target{Name: name, Addr: ap, Expect: expect}) {
				return false
			}
		}
		return true
	})
}

// All yields every target of the plan in input order: arguments, then
// each target file from its start, streamed. An error (a target file that
// changed since the plan was made) is yielded once, last.
func (p *Plan) All() iter.Seq2[probe.Target, error] {
	return func(yield func(probe.Target, error) bool) {
		stop := false
		emit := func(t probe.Target) bool {
			if !yield(t, nil) {
				stop = true
			}
			return !stop
		}
		for i := range p.args {
			if !p.each(&p.args[i], emit) {
				return
			}
		}
		for _, f := range p.files {
			err := scan(f, p.opt, func(sp *Spec) error {
				if sp.name != "" {
					if _, ok := p.names[sp.name]; !ok {
						return fmt.Errorf("%s: target file %s changed while it was read: %s is new", sp.Where, f.Name, sp.name)
					}
				} else if err := p.checkAddrs(context.Background(), sp); err != nil {
					return at(sp, err)
				}
				if sp.Ports == nil && p.opt.Ports == nil {
					return fmt.Errorf("%s: target file %s changed while it was read", sp.Where, f.Name)
				}
				if !p.each(sp, emit) {
					return errStop
				}
				return nil
			})
			if errors.Is(err, errStop) || stop {
				return
			}
			if err != nil {
				yield(probe.Target{}, err)
				return
			}
		}
	}
}

var errStop = errors.New("stop")

// resolve looks host up in family ("ip", "ip4", "ip6"): its first
// address, IPv4 preferred (or every address, without duplicates).
func resolve(ctx context.Context, r Resolver, host, family string, all bool) ([]netip.Addr, error) {
	addrs, err := r.LookupNetIP(ctx, family, host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, fmt.Errorf("cannot resolve %q: no such host: check the name, or give an IP address", host)
		}
		if errors.As(err, &de) && de.IsTimeout {
			return nil, fmt.Errorf("cannot resolve %q: the resolver did not answer in time: check /etc/resolv.conf, or give an IP address", host)
		}
		return nil, fmt.Errorf("cannot resolve %q: the resolver failed: check the name and /etc/resolv.conf, or give an IP address", host)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cannot resolve %q: no %s address", host, map[string]string{"ip": "IP", "ip4": "IPv4", "ip6": "IPv6"}[family])
	}
	if !all {
		// Prefer IPv4 then IPv6 in the resolver's order, like most
		// clients' first choice; -6 / -4 narrow it.
		slices.SortStableFunc(out, func(a, b netip.Addr) int {
			switch {
			case a.Is4() && !b.Is4():
				return -1
			case !a.Is4() && b.Is4():
				return 1
			}
			return 0
		})
		out = out[:1]
	}
	return out, nil
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
