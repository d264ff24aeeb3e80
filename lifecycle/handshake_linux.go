package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// Handshaker runs --handshake full: for each target the kernel's own TCP
// carries a whole connection (connect, data, close) while a rawsock.Tap
// records every segment both ways; Analyse then says what happened. The
// kernel's TCP keeps the conversation standard (windows, retransmissions,
// TIME_WAIT), so the server sees a real client.
type Handshaker struct {
	cfg Config
}

// NewHandshaker returns a Handshaker; cfg is checked by Run.
func NewHandshaker(cfg Config) *Handshaker { return &Handshaker{cfg: cfg} }

// prepared is one target with its route, source port and open tap.
type prepared struct {
	t       probe.Target
	index   int
	ifname  string
	res     *probe.Result // set when the target ends before a packet leaves
	local   netip.AddrPort
	tap     *rawsock.Tap
	release func()
}

// Run probes targets one after the other and emits each result. Every tap
// is opened first (that needs CAP_NET_RAW); then Config.Ready runs.
func (h *Handshaker) Run(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error {
	if h.cfg.Close == "" {
		h.cfg.Close = CloseFIN
	}
	preps := make([]*prepared, 0, len(targets))
	defer func() {
		for _, p := range preps {
			if p.tap != nil {
				p.tap.Close()
			}
			if p.release != nil {
				p.release()
			}
		}
	}()
	for i, t := range targets {
		p, err := h.prepare(i, t)
		if err != nil {
			return err
		}
		preps = append(preps, p)
	}
	if h.cfg.Ready != nil {
		if err := h.cfg.Ready(); err != nil {
			return &probe.EnvError{Err: err}
		}
	}
	for _, p := range preps {
		if p.res == nil {
			if ctx.Err() != nil {
				p.res = h.newResult(p)
				p.res.Outcome, p.res.Reason = probe.Interrupted, probe.ReasonInterrupted
				p.res.Finished = time.Now()
			} else {
				p.res = h.one(ctx, p)
			}
		}
		emit(p.res)
	}
	return ctx.Err()
}

func (h *Handshaker) newResult(p *prepared) *probe.Result {
	return &probe.Result{Target: p.t.Name, Index: p.index, Interface: p.ifname, Addr: p.t.Addr.Addr(), Port: p.t.Addr.Port(),
		Profile: h.cfg.Profile.Name, Schedule: h.cfg.Profile.Schedule, ICMP: h.cfg.Profile.ICMP,
		Src: p.local.Addr(), SrcPort: p.local.Port(), Expect: p.t.Expect, Started: time.Now()}
}

// prepare finds the route and a source port and opens the tap. An error
// that concerns only this target (no route) becomes its result.
func (h *Handshaker) prepare(i int, t probe.Target) (*prepared, error) {
	p := &prepared{t: t, index: i}
	dst := t.Addr.Addr().Unmap()
	rt, err := rawsock.RouteTo(dst, rawsock.RouteOptions{Interface: h.cfg.Interface, Source: h.cfg.Source})
	if err != nil {
		var re *rawsock.RouteError
		if errors.As(err, &re) {
			p.res = h.newResult(p)
			p.res.Outcome, p.res.Errno, p.res.Reason = probe.LocalError, re.Errno, probe.ReasonNoRoute
			p.res.Finished = p.res.Started
			return p, nil
		}
		return nil, &probe.EnvError{Err: err}
	}
	port := h.cfg.SourcePort
	if port == 0 {
		var rel func()
		port, rel, err = rawsock.ReservePort(rt.Src)
		if err != nil {
			return nil, &probe.EnvError{Err: err}
		}
		p.release = rel
	}
	p.local = netip.AddrPortFrom(rt.Src, port)
	ifi := rt.Interface
	if rt.Local {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return nil, &probe.EnvError{Err: fmt.Errorf("loopback interface: %w", err)}
		}
		ifi = *lo
	}
	tap, err := rawsock.OpenTap(&ifi, p.local, netip.AddrPortFrom(dst, t.Addr.Port()))
	if err != nil {
		return nil, &probe.EnvError{Err: err}
	}
	p.tap = tap
	p.ifname = ifi.Name
	return p, nil
}

// one runs a whole connection to p's target.
func (h *Handshaker) one(ctx context.Context, p *prepared) *probe.Result {
	res := h.newResult(p)
	rec := &recorder{local: p.local}
	tctx, stopTap := context.WithCancel(context.WithoutCancel(ctx))
	tapDone := make(chan struct{})
	go func() {
		defer close(tapDone)
		_ = p.tap.Receive(tctx, rec.add)
	}()
	finish := func() {
		stopTap()
		<-tapDone
	}
	if p.release != nil {
		p.release() // the dialer binds the port itself now
		p.release = nil
	}
	giveUp := h.cfg.Profile.Schedule.GiveUp
	if giveUp <= 0 {
		giveUp = 75 * time.Second
	}
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: p.local.Addr().AsSlice(), Port: int(p.local.Port())},
		Timeout:   giveUp,
	}
	res.Started = time.Now()
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(p.t.Addr.Addr().Unmap(), p.t.Addr.Port()).String())
	life := &probe.Lifecycle{Mode: "handshake"}
	res.Life = life
	var hs probe.Handshake
	var twState string       // sock_diag's state of our 4-tuple after the close
	var twLeft time.Duration // and the time left on its timer
	if err != nil {
		// Let a late RST or ICMP reach the tap before it stops.
		time.Sleep(20 * time.Millisecond)
		finish()
		h.dialFailed(ctx, res, err)
	} else {
		conn := c.(*net.TCPConn)
		data, serverClosed := h.converse(ctx, conn, &hs)
		finAnswered := h.close(ctx, conn, &hs)
		// Watch for a FIN the server re-sends (our last ACK lost), and
		// what the local kernel keeps of the 4-tuple.
		// Only the side that closed first answers a re-sent FIN, and only
		// once both FINs crossed: then watch for a while (Linux's RTO
		// is at least 200 ms), else just let the last segment land.
		watch := 50 * time.Millisecond
		if finAnswered && !serverClosed {
			watch = min(h.closeTimeout(), time.Second)
		}
		timer := time.NewTimer(watch)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
		twState, twLeft = socketState(p.local, netip.AddrPortFrom(p.t.Addr.Addr().Unmap(), p.t.Addr.Port()))
		finish()
		res.Outcome, res.Reason = probe.Open, probe.ReasonEstablished
		hs.Banner = data
	}
	segs, ignored := rec.snapshot()
	res.Ignored = ignored
	a := Analyse(segs, h.cfg.Close)
	life.Segments = segs
	h.fill(res, segs, a)
	if err == nil {
		a.Handshake.BytesSent, a.Handshake.BytesReceived = max(a.Handshake.BytesSent, hs.BytesSent), max(a.Handshake.BytesReceived, hs.BytesReceived)
		merged := a.Handshake
		merged.BannerPattern, merged.BannerMatched, merged.Banner, merged.Err = hs.BannerPattern, hs.BannerMatched, hs.Banner, hs.Err
		life.Handshake = &merged
		mc := a.Close
		mc.TimeWaitSeen, mc.TimeWaitLeft = twState, twLeft
		life.Close = &mc
		if merged.AcceptQueueFull {
			res.Reason = probe.ReasonAcceptQueueFull
		}
	}
	res.Finished = time.Now()
	return res
}

func (h *Handshaker) closeTimeout() time.Duration {
	if h.cfg.CloseTimeout > 0 {
		return h.cfg.CloseTimeout
	}
	return DefaultCloseTimeout
}

// dialFailed sets the outcome of a connect() that failed.
func (h *Handshaker) dialFailed(ctx context.Context, res *probe.Result, err error) {
	var errno syscall.Errno
	switch {
	case ctx.Err() != nil:
		res.Outcome, res.Reason = probe.Interrupted, probe.ReasonInterrupted
		return
	case errors.As(err, &errno):
	case os.IsTimeout(err):
		errno = syscall.ETIMEDOUT
	default:
		errno = syscall.EIO
	}
	res.Errno = errno
	switch errno {
	case syscall.ETIMEDOUT:
		res.Outcome, res.Reason = probe.Timeout, probe.ReasonTimeout
	case syscall.ECONNREFUSED:
		res.Outcome, res.Reason = probe.Refused, probe.ReasonRST
	default:
		res.Outcome, res.Reason = probe.Unreachable, "connect-error"
	}
}

// converse sends --send, reads for --expect-banner, holds for --hold, and
// returns the start of what arrived and whether the server's FIN did.
func (h *Handshaker) converse(ctx context.Context, conn *net.TCPConn, hs *probe.Handshake) ([]byte, bool) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if len(h.cfg.Send) > 0 {
		n, err := conn.Write(h.cfg.Send)
		hs.BytesSent = n
		if err != nil {
			hs.Err = errnoOf(err)
			return nil, false
		}
	}
	var got []byte
	buf := make([]byte, 32<<10)
	read := func(until time.Time, done func() bool) bool {
		_ = conn.SetReadDeadline(until)
		for !done() {
			n, err := conn.Read(buf)
			if n > 0 {
				hs.BytesReceived += n
				if len(got) < 64<<10 {
					got = append(got, buf[:min(n, 64<<10-len(got))]...)
				}
			}
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
					hs.Err = errnoOf(err)
				}
				return err == io.EOF
			}
		}
		return false
	}
	eof := false
	if re := h.cfg.Banner; re != nil {
		hs.BannerPattern = re.String()
		timeout := h.cfg.Timeout
		if timeout <= 0 {
			timeout = h.cfg.Profile.Schedule.GiveUp
		}
		eof = read(time.Now().Add(timeout), func() bool {
			hs.BannerMatched = re.Match(got)
			return hs.BannerMatched
		})
		hs.BannerMatched = re.Match(got)
	}
	if h.cfg.Hold > 0 && !eof && hs.Err == 0 {
		eof = read(time.Now().Add(h.cfg.Hold), func() bool { return false })
	}
	_ = conn.SetReadDeadline(time.Time{})
	if len(got) > bannerKeep {
		got = got[:bannerKeep]
	}
	return got, eof
}

// close ends the connection as --close asks; it reports whether a FIN
// close ended with the server's FIN.
func (h *Handshaker) close(ctx context.Context, conn *net.TCPConn, hs *probe.Handshake) bool {
	if h.cfg.Close == CloseRST || hs.Err != 0 || ctx.Err() != nil {
		_ = conn.SetLinger(0)
		_ = conn.Close()
		return false
	}
	if err := conn.CloseWrite(); err != nil {
		_ = conn.Close()
		return false
	}
	eof := false
	// Wait for the server's FIN (EOF), reading and counting what it still
	// sends (a half-close), or its RST.
	_ = conn.SetReadDeadline(time.Now().Add(h.closeTimeout()))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 32<<10)
	for {
		n, err := conn.Read(buf)
		hs.BytesReceived += n
		if err != nil {
			eof = errors.Is(err, io.EOF)
			if !eof && !errors.Is(err, os.ErrDeadlineExceeded) {
				hs.Err = errnoOf(err)
			}
			break
		}
	}
	_ = conn.Close()
	return eof
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
