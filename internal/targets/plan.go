package targets

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"strings"

	"github.com/tcpprobe/tcpprobe/probe"
)

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
	v4, v6  bool // some target is IPv4, IPv6

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

// Families says whether some target is IPv4, and whether some is IPv6.
func (p *Plan) Families() (v4, v6 bool) { return p.v4, p.v6 }

// family records the families of sp's addresses.
func (p *Plan) family(sp *Spec) {
	if ns, ok := p.addrs(sp).(nameSet); ok {
		for _, a := range ns {
			p.v4, p.v6 = p.v4 || a.Is4(), p.v6 || !a.Is4()
		}
		return
	}
	p.v4, p.v6 = p.v4 || sp.set.isV4(), p.v6 || !sp.set.isV4()
}

// Total is the number of targets the plan expands to: exact, except
// that exclusions of single ports of a prefix or range, and any
// exclusion inside an octet range of more than 4,194,304 addresses, are
// not subtracted (the total is then an upper bound).
func (p *Plan) Total() int64 { return p.total }

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
	if n > 0 {
		p.family(sp)
	}
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
	prefix := ""
	if asWritten {
		prefix = sp.namePrefix()
	}
	ex := p.exclude
	nm := new(namer)
	return set.each(func(a netip.Addr) bool {
		if ex.allPorts(a) {
			return true
		}
		for _, port := range ports {
			if ex.Excluded(a, port) {
				continue
			}
			if nm.add(asWritten, prefix, netip.AddrPortFrom(a, port)) && !nm.flush(expect, yield) {
				return false
			}
		}
		return true
	}) && nm.flush(expect, yield)
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
