package listeners

import (
	"net/netip"
	"slices"
	"time"
)

// Flags a listener can carry.
const (
	// FlagSYNFlood: half-open connections from many distinct sources pile
	// up on the listener, or its SYN queue is full while the namespace
	// sends syncookies or drops SYNs (Stevens' `netstat -n | grep
	// SYN_RECV` test).
	FlagSYNFlood = "possible-syn-flood"
	// FlagAcceptQueueFull: the accept queue sits at its backlog while the
	// namespace's ListenOverflows grow: the application does not accept(2)
	// fast enough, and new connections are being dropped.
	FlagAcceptQueueFull = "accept-queue-full"
)

// Process is one process holding a listener's socket.
type Process struct {
	PID  int
	Name string // /proc/PID/comm
}

// Listener is one listening TCP socket.
type Listener struct {
	Addr  netip.AddrPort
	Inode uint32
	UID   uint32
	// AcceptQueue is the connections completed and waiting for accept(2)
	// (sock_diag's rqueue of a listener, ss's Recv-Q); Backlog its limit
	// (wqueue, ss's Send-Q). Linux counts the queue full once it exceeds
	// Backlog.
	AcceptQueue, Backlog uint32
	// SYNRecv is the half-open connections (SYN_RECV) for this listener;
	// SYNSources how many distinct remote addresses they come from.
	SYNRecv, SYNSources int
	Processes           []Process
	Flags               []string
}

// Sample is the state of the namespace at one time.
type Sample struct {
	Time      time.Time
	Listeners []Listener
	// Counters are the absolute values (nstat -a); Delta the growth since
	// the previous sample (for the first one: since the namespace began).
	Counters, Delta map[string]uint64
}

// Thresholds tune Assess.
type Thresholds struct {
	// SYNRecv and Sources: a listener with at least SYNRecv half-open
	// connections from at least Sources distinct addresses is flagged.
	SYNRecv, Sources int
}

// DefaultThresholds are Assess's defaults.
var DefaultThresholds = Thresholds{SYNRecv: 8, Sources: 4}

// Assess sets cur's deltas from prev (nil for the first sample) and flags
// every listener of cur.
func Assess(prev, cur *Sample, th Thresholds) {
	cur.Delta = map[string]uint64{}
	for k, v := range cur.Counters {
		var old uint64
		if prev != nil {
			old = prev.Counters[k]
		}
		if v >= old {
			cur.Delta[k] = v - old
		}
	}
	overflows := cur.Delta["TcpExtListenOverflows"] > 0
	synPressure := cur.Delta["TcpExtSyncookiesSent"] > 0 || cur.Delta["TcpExtTCPReqQFullDrop"] > 0 || cur.Delta["TcpExtTCPReqQFullDoCookies"] > 0
	for i := range cur.Listeners {
		l := &cur.Listeners[i]
		l.Flags = l.Flags[:0]
		flood := l.SYNRecv >= th.SYNRecv && l.SYNSources >= th.Sources
		if synPressure && l.Backlog > 0 && uint32(l.SYNRecv) >= l.Backlog && l.SYNSources >= min(th.Sources, 2) {
			flood = true
		}
		if flood {
			l.Flags = append(l.Flags, FlagSYNFlood)
		}
		if l.AcceptQueue > 0 && l.AcceptQueue >= l.Backlog && overflows {
			l.Flags = append(l.Flags, FlagAcceptQueueFull)
		}
	}
	slices.SortFunc(cur.Listeners, func(a, b Listener) int {
		if c := a.Addr.Addr().Compare(b.Addr.Addr()); c != 0 {
			return c
		}
		return int(a.Addr.Port()) - int(b.Addr.Port())
	})
}
