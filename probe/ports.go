package probe

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
)

// portPool is the source ports a run holds for one local address. A port
// is shared by probes to different destinations; the same 4-tuple is never
// used twice in a run, so a late reply cannot reach a newer probe.
type portPool struct {
	ports   []uint16
	release []func()
	err     error // the kernel would not give another port
}

// errNeedPort asks the caller of register to reserve a source port (a
// system call, so never under p.mu) and try again.
var errNeedPort = errors.New("probe: a new source port is needed")

// register picks the probe's source port, creates its entry and puts it in
// the demultiplexer; p.mu is held.
func (r *runState) register(pl *planned, ls *linkState, nr *neighResult) (*entry, error) {
	p := r.p
	p.probes.room() // before find: a growth would move the slot it gives
	key, slot, h, err := r.localPort(pl)
	if err != nil {
		return nil, err
	}
	e := r.slab.take(p.profileOf(pl.t), key, randomISS())
	e.m.SetOptions(p.machineOptions(e.m.ISS()))
	e.run, e.link = r, ls
	if len(nr.mac) == 6 {
		e.hasMAC = true
		copy(e.mac[:], nr.mac)
	}
	e.dropsAt = ls.drops.Load()
	e.routeGen = pl.rt.gen
	if pl.rt.gw == nil { // once per route, not a map lookup per probe
		pl.rt.gw = p.gatewayFor(neighKey{pl.rt.r.Interface.Index, pl.rt.r.NextHop})
	}
	e.gw = pl.rt.gw
	e.index, e.name, e.expect = pl.i, pl.t.Name, pl.t.Expect
	p.probes.place(slot, h, e)
	e.ridx = int32(len(r.entries))
	r.entries = append(r.entries, e)
	return e, nil
}

// localPort picks the probe's 4-tuple: its source address with a port the
// run holds whose 4-tuple with this target is unused (or the fixed source
// port, if that 4-tuple is unused), and the demultiplexer's slot for it and
// its hash, for place; or errNeedPort. p.probes has room; p.mu is held.
func (r *runState) localPort(pl *planned) (key tuple, slot int, h uint64, err error) {
	p := r.p
	key = tuple{local: pl.rt.r.Src, remote: pl.t.Addr.Addr(), rport: pl.t.Addr.Port()}
	// p.probes keeps every 4-tuple of every run: it is the used set.
	free := func(port uint16) bool {
		key.lport = port
		k := key.demux()
		h = hashDemux(p.demuxSeed, &k)
		var found bool
		slot, found = p.probes.find(&k, h)
		return !found
	}
	if p.cfg.SourcePort != 0 {
		if !free(p.cfg.SourcePort) {
			return key, 0, 0, fmt.Errorf("source %v to %v: %w", netip.AddrPortFrom(key.local, key.lport), pl.t.Addr, syscall.EADDRINUSE)
		}
		return key, slot, h, nil
	}
	pool := r.ports[key.local]
	if pool == nil {
		return key, 0, 0, errNeedPort
	}
	for _, port := range pool.ports {
		if free(port) {
			return key, slot, h, nil
		}
	}
	if pool.err != nil {
		return key, 0, 0, pool.err
	}
	return key, 0, 0, errNeedPort
}

// reservePort holds one more source port on pl's local address for the
// run; p.mu is not held. A failure is kept in the pool: the probes that
// would need the port end as local errors.
func (r *runState) reservePort(pl *planned) {
	p := r.p
	src := pl.rt.r.Src
	port, release, err := p.net.ReservePort(src)
	p.mu.Lock()
	defer p.mu.Unlock()
	pool := r.ports[src]
	if pool == nil {
		pool = &portPool{}
		r.ports[src] = pool
	}
	if err != nil {
		pool.err = err
		return
	}
	pool.ports = append(pool.ports, port)
	pool.release = append(pool.release, release)
}

// portFailure is the result of a probe that got no source port: its
// 4-tuple is in use (a fixed source port), or the kernel had no port.
func (r *runState) portFailure(pl *planned, err error) *Result {
	if errors.Is(err, syscall.EADDRINUSE) {
		return r.localResult(pl, LocalError, syscall.EADDRINUSE, ReasonLocal)
	}
	return r.localResult(pl, LocalError, syscall.EADDRNOTAVAIL, ReasonLocal)
}

// releasePorts gives back every port the run held; the run is over.
func (r *runState) releasePorts() {
	for _, pool := range r.ports {
		for _, release := range pool.release {
			release()
		}
	}
}

// issPool hands out ISSs from crypto/rand read 1 KiB at a time: one
// getrandom(2) per 256 probes instead of one each.
var issPool struct {
	sync.Mutex // guards buf and off
	buf        [1024]byte
	off        int
}

func randomISS() uint32 {
	issPool.Lock()
	defer issPool.Unlock()
	if issPool.off == 0 || issPool.off >= len(issPool.buf) {
		if _, err := rand.Read(issPool.buf[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		issPool.off = 0
	}
	v := binary.BigEndian.Uint32(issPool.buf[issPool.off:])
	issPool.off += 4
	return v
}
