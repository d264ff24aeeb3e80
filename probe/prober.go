package probe

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/rx"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Target is one address and port to probe.
type Target struct {
	Name   string // as the user gave it, for the report
	Addr   netip.AddrPort
	Expect string // an assertion the caller attaches; carried into the Result
	// Profile, if set, replaces Config.Profile for this target only (its
	// schedule must pass Schedule.Validate): one Prober, and its links,
	// serves targets probed with different schedules.
	Profile *Profile
}

// Config configures a Prober.
type Config struct {
	Profile    Profile
	Interface  string     // leave through this interface only
	Source     netip.Addr // use this source address
	SourcePort uint16     // use this source port for every probe (0: a free random one each)
	TTL        uint8      // 0: 64
	Window     uint16     // 0: 64240, Linux's initial window for a 1460-byte MSS
	Options    wire.Options
	// Rate caps new probes per second. 0 or RateMax: as fast as every
	// answer is still caught (an adaptive window of probes in flight that
	// shrinks when the kernel drops replies). Retransmissions and
	// teardowns are not paced.
	Rate float64
	// Concurrency caps probes in flight (0: no cap beyond the targets, or
	// the adaptive window under RateMax).
	Concurrency int
	Network     Network // nil: Host{}
	Clock       Clock   // nil: SystemClock{}
	// Ready, if set, is called once in the Prober's life, after its links
	// are open and the next hops of the first Run are resolved, before its
	// first SYN: from then on nothing the Prober does needs privilege, so
	// Ready is where the caller drops it. An error ends the Run with an
	// *EnvError before anything is sent.
	Ready func() error
	// Drained, if set, is called from Run's goroutine, the one that calls
	// emit, each time emit has been handed every result decided so far and
	// Run is about to wait for more, and once before Run returns: the
	// moment for a caller that buffers its output to flush it, so each
	// result still reaches its reader promptly.
	Drained func()
}

// DefaultOptions are the options Linux puts in a SYN on an Ethernet path:
// MSS 1460, SACK permitted, timestamps, window scale 7.
func DefaultOptions() wire.Options {
	return wire.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, HasWScale: true, WScale: 7}
}

// Stats counts what the Prober saw that no probe could use, and what the
// kernel could not hand it.
type Stats struct {
	Unmatched uint64 // well-formed packets for no probe of ours
	Malformed uint64 // packets that did not parse
	// Dropped is the kernel's PACKET_STATISTICS drop count over every
	// link: received packets lost because the socket buffer was full.
	Dropped uint64
	// Reprobed counts probes run again (new ISS) because they gave up
	// while the kernel was dropping received packets.
	Reprobed uint64
	// Unsure counts results that still gave up under drops after
	// maxReprobes tries; each carries an event with Why WhyReceiveDrops.
	Unsure uint64
	// ReceiveErrors counts reads a link failed (the interface went down);
	// its read loop starts again.
	ReceiveErrors uint64
	// RateLimitReprobed counts slow re-probes of timeouts whose next hop
	// returned ICMP errors for other probes meanwhile (a router's ICMP
	// rate limit may have eaten theirs); RateLimitUnsure counts timeouts
	// that still may be such errors, each with an event WhyICMPRateLimit.
	RateLimitReprobed uint64
	RateLimitUnsure   uint64
	// ReceivePath counts, by reason (rx.Drop's word), the frames the
	// kernel's receive path would have dropped before TCP saw them.
	ReceivePath map[string]uint64
}

// RateMax asks for the fastest rate at which every answer is still caught:
// the Prober keeps an adaptive window of probes in flight and halves it
// when the kernel reports dropped replies (PACKET_STATISTICS). Rate 0 means
// the same.
const RateMax = -1

// EnvError is a failure of the environment rather than of a probe: no
// permission to open raw sockets, an interface that cannot be used.
// Nothing was sent. Fallback says the kernel's own connect(2) could still
// probe the targets (raw sockets are what this host refuses).
type EnvError struct {
	Err      error
	Fallback bool
}

func (e *EnvError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *EnvError) Unwrap() error { return e.Err }

// Prober runs probes over shared raw links. Its links stay open from the
// first Run that needs them until Close, so Runs (rounds of -c, scrapes of
// an exporter) share them. Runs may overlap: each has its own targets,
// source ports and results, and all share the links, the demultiplexer,
// the timers and the window of probes in flight.
//
// Locks, in the order they may be taken: readyMu, then linkMu; mu alone.
// No system call is made under mu.
type Prober struct {
	cfg   Config
	net   Network
	clock Clock
	base  time.Time // timer heap times are offsets from it

	// life is the Prober's own context: it ends at Close, and bounds the
	// receive loops, the timer loop and next-hop resolutions.
	life    context.Context
	stop    context.CancelFunc
	workers sync.WaitGroup // receive loops, the timer loop

	// readyMu is held while Config.Ready runs, so overlapping Runs send
	// nothing before it returned.
	readyMu     sync.Mutex
	readyDone   bool        // readyMu
	readyCalled atomic.Bool // readyDone, for those holding linkMu (which comes after readyMu)

	// Following fields are protected by linkMu.
	linkMu    sync.Mutex
	open      map[int]*linkState         // by interface index
	sols      map[int]*rawsock.Solicitor // kept solicitation sockets, by interface index (solicit.go)
	timerLoop bool                       // the timer loop was started
	closed    bool

	// demuxSeed is the hash seed of every demultiplexer table the Prober
	// makes (p.probes, a run's presized one), fixed at New: a receive loop
	// hashes a packet's 4-tuple with it before taking mu.
	demuxSeed maphash.Seed

	// links is every open link, for the drop poller; replaced (never
	// changed in place) under linkMu.
	links atomic.Pointer[[]*linkState]

	neigh  neighCache
	drops  dropPoller
	routes routeGen // routing changes heard (routegen.go)

	// Following fields are protected by mu: the probes in flight of every
	// Run and what they share.
	mu       sync.Mutex
	probes   demuxTable
	timers   timerHeap
	inflight int  // probes started and not decided
	window   int  // most probes in flight (0: no limit)
	adaptive bool // RateMax: window follows the drop counters
	runs     int  // Runs under way
	stats    Stats
	rxDrops  [rx.NumDrops]uint64 // receive-path drops by reason
	gateways map[neighKey]*gateway

	wake chan struct{} // the head of the timer heap changed
	slot chan struct{} // a probe left the window
}

// New returns a Prober for cfg.
func New(cfg Config) (*Prober, error) {
	if err := cfg.Profile.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", cfg.Profile.Name, err)
	}
	p := &Prober{cfg: cfg, net: cfg.Network, clock: cfg.Clock}
	if p.net == nil {
		p.net = Host{NeighborTimeout: cfg.Profile.Schedule.GiveUp}
	}
	if p.clock == nil {
		p.clock = SystemClock{}
	}
	if p.cfg.TTL == 0 {
		p.cfg.TTL = 64
	}
	if p.cfg.Window == 0 {
		p.cfg.Window = 64240
	}
	p.base = p.clock.Now()
	p.life, p.stop = context.WithCancel(context.Background())
	p.open = map[int]*linkState{}
	p.links.Store(new([]*linkState))
	p.neigh.init(p)
	p.demuxSeed = maphash.MakeSeed()
	p.probes = demuxTable{seed: p.demuxSeed}
	p.gateways = map[neighKey]*gateway{}
	p.wake = make(chan struct{}, 1)
	p.slot = make(chan struct{}, 64)
	p.window = cfg.Concurrency
	if cfg.Rate <= 0 {
		p.adaptive = true
		p.window = windowStart
		if cfg.Concurrency > 0 {
			p.window = min(windowStart, cfg.Concurrency)
		}
	}
	return p, nil
}

// Close stops receiving and closes every link the Prober opened. Runs must
// have returned.
func (p *Prober) Close() error {
	p.linkMu.Lock()
	p.closed = true
	links := *p.links.Load()
	p.links.Store(new([]*linkState))
	p.open = map[int]*linkState{}
	sols := p.sols
	p.sols = nil
	if p.routes.stop != nil {
		p.routes.stop()
	}
	p.routes.stop = func() {} // and never again
	p.linkMu.Unlock()
	p.stop()
	// Each close of a packet socket waits for an RCU grace period (a ring's
	// for two): the links and the kept solicitation sockets close at once
	// so their waits overlap (a 1,100-port run: 75.8 -> 66.1 ms, median of
	// 15, when the solicitation sockets closed first).
	errs := make([]error, len(links))
	var closing sync.WaitGroup
	for i, l := range links {
		closing.Go(func() { errs[i] = l.link.Close() })
	}
	for _, sol := range sols {
		closing.Go(func() { sol.Close() })
	}
	closing.Wait()
	var first error
	for _, err := range errs {
		if err != nil && first == nil {
			first = err
		}
	}
	p.workers.Wait()
	p.neigh.wait()
	return first
}

// Stats returns the counters of packets no probe could use.
func (p *Prober) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	for d, n := range p.rxDrops {
		if n > 0 {
			if st.ReceivePath == nil {
				st.ReceivePath = map[string]uint64{}
			}
			st.ReceivePath[rx.Drop(d).String()] = n
		}
	}
	return st
}
