package probe

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// linkState is one open link and what the Prober knows of it.
type linkState struct {
	link  Link
	batch BatchLink // nil if the link cannot batch
	stats StatsLink // nil if the link has no drop counter
	stamp StampLink // nil if the link cannot say when a frame left
	ifi   net.Interface
	addrs []netip.Addr  // local addresses its filter passes
	drops atomic.Uint64 // kernel drops seen so far (pollDrops)
	// rpFilter is the kernel's IPv4 reverse-path filter on this
	// interface (rawsock.RPFilterOff, Strict or Loose): an IPv4 reply
	// that arrives here counts only if the kernel would accept it.
	rpFilter int
}

// covers reports whether the link's filter passes every address of want.
func (ls *linkState) covers(want []netip.Addr) bool {
	for _, a := range want {
		if !containsAddr(ls.addrs, a) {
			return false
		}
	}
	return true
}

// ringProbes is the smallest Run whose new links read replies through a
// receive ring: setting one up waits for an RCU grace period and closing it
// for two more, which a few hundred probes do not win back. A link keeps
// its kind for the Prober's life.
const ringProbes = 1024

// sweepRecvBuffer is the receive buffer a Prober asks for on each link: at
// about 1 KiB of kernel memory per queued reply it holds more replies than
// windowMax probes can provoke at once.
const sweepRecvBuffer = 64 << 20

// errClosed is what a Run started after Close returns.
var errClosed = errors.New("probe: the Prober is closed")

// openLinks returns a link for every interface in ifis whose filter passes
// addrs, opening those the Prober does not have yet (reading the socket
// queue, not a ring, when queue is set) and starting their read loops.
// Replies to addrs may also arrive on other interfaces (asymmetric
// routing): those the Network names get a link of their own that only
// receives.
func (p *Prober) openLinks(ifis map[int]net.Interface, addrs map[int][]netip.Addr, queue bool) (map[int]*linkState, error) {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	var all []netip.Addr
	for _, as := range addrs {
		for _, a := range as {
			if !containsAddr(all, a) {
				all = append(all, a)
			}
		}
	}
	links := map[int]*linkState{}
	for idx, ifi := range ifis {
		ls, err := p.openLink(ifi, all, rawsock.LinkConfig{RecvBuffer: sweepRecvBuffer, SocketQueue: queue})
		if err != nil {
			return nil, &EnvError{Err: err}
		}
		links[idx] = ls
		p.keepSolicitor(&ifi)
	}
	if rn, ok := p.net.(ReplyNetwork); ok && len(all) > 0 {
		others, _ := rn.ReplyInterfaces() // without the list, replies come by the way out only
		for _, ifi := range others {
			if _, egress := ifis[ifi.Index]; egress {
				continue
			}
			// A link that only receives: a small buffer and no ring.
			if _, err := p.openLink(ifi, all, rawsock.LinkConfig{RecvBuffer: replyRecvBuffer, SocketQueue: true}); err != nil {
				return nil, &EnvError{Err: err}
			}
		}
	}
	return links, nil
}

// replyRecvBuffer is the receive buffer of a link that only catches
// replies that came back another way.
const replyRecvBuffer = 1 << 20

// openLink returns the Prober's link on ifi, opened with cfg if it has
// none whose filter passes addrs; p.linkMu is held.
func (p *Prober) openLink(ifi net.Interface, addrs []netip.Addr, cfg rawsock.LinkConfig) (*linkState, error) {
	if ls := p.open[ifi.Index]; ls != nil && ls.covers(addrs) {
		return ls, nil
	}
	cfg.Addrs = addrs
	l, err := p.net.OpenLink(&ifi, cfg)
	if err != nil {
		return nil, err
	}
	ls := &linkState{link: l, ifi: ifi, addrs: addrs}
	ls.batch, _ = l.(BatchLink)
	ls.stamp, _ = l.(StampLink)
	ls.stats, _ = l.(StatsLink)
	if rn, ok := p.net.(ReplyNetwork); ok {
		ls.rpFilter = rn.RPFilter(ifi.Name)
	}
	p.open[ifi.Index] = ls
	all := append(append([]*linkState(nil), *p.links.Load()...), ls)
	p.links.Store(&all)
	p.workers.Add(1)
	go func() {
		defer p.workers.Done()
		p.receive(ls)
	}()
	return ls, nil
}

// receive runs a link's read loop until the Prober closes. A read error
// that the link survives (the interface went down and up) restarts the
// loop after a pause; the error is counted.
func (p *Prober) receive(ls *linkState) {
	br, _ := ls.link.(BatchReceiver)
	b := p.newRxBatch(ls)
	onPackets := func(pkts [][]byte, infos []rawsock.RecvInfo) { p.onPackets(b, pkts, infos) }
	onPacket := func(pkt []byte, info rawsock.RecvInfo) {
		b.one[0], b.oneInfo[0] = pkt, info
		p.onPackets(b, b.one[:], b.oneInfo[:])
		b.one[0] = nil
	}
	for p.life.Err() == nil {
		var err error
		if br != nil {
			err = br.ReceiveBatch(p.life, onPackets)
		} else {
			err = ls.link.Receive(p.life, onPacket)
		}
		if err == nil || p.life.Err() != nil {
			return
		}
		p.mu.Lock()
		p.stats.ReceiveErrors++
		p.mu.Unlock()
		sleep(p.life, p.clock, 10*time.Millisecond)
	}
}

// startTimerLoop starts the Prober's one timer loop, once.
func (p *Prober) startTimerLoop() error {
	p.linkMu.Lock()
	defer p.linkMu.Unlock()
	if p.closed {
		return errClosed
	}
	if !p.timerLoop {
		p.timerLoop = true
		p.workers.Add(1)
		go func() {
			defer p.workers.Done()
			p.runTimers()
		}()
	}
	return nil
}
