package probetest

import (
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// DropReplies makes the fake kernel lose the next n replies the peer
// sends, as a full socket receive buffer would, and count them in the
// links' Stats (PACKET_STATISTICS). n < 0 loses every reply from now on.
func (n *Network) DropReplies(count int) {
	n.mu.Lock()
	n.dropNext = count
	n.mu.Unlock()
}

// dropReply reports whether the next reply is lost, counting it.
func (n *Network) dropReply() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dropNext == 0 {
		return false
	}
	if n.dropNext > 0 {
		n.dropNext--
	}
	n.dropped++
	return true
}

// Stats returns the fake kernel's counters: every reply it lost on any
// link. It makes *Link a probe.StatsLink.
func (l *Link) Stats() (rawsock.LinkStats, error) {
	l.net.mu.Lock()
	defer l.net.mu.Unlock()
	return rawsock.LinkStats{Dropped: l.net.dropped}, nil
}
