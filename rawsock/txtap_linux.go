package rawsock

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A transmit tap is the send times' source on a ring link (one opened for a
// run of many probes): a packet socket that sees the link's outgoing TCP
// frames, as tcpdump does, through a TPACKET_V2 ring. Each frame carries
// the time the kernel's taps saw it leave (dev_queue_xmit_nit, one
// timestamp shared by every tap, tcpdump's included), and a stamped write
// reads its frames back from the ring's memory without a system call.
//
// Why not the error queue there too: a send timestamp on the error queue
// costs a clone of the frame kept alive while the frame crosses the path
// (on veth a router forwarding it must copy the header it shares), its
// queueing, and a recvmmsg message. A minimal two-thread sendmmsg sender
// over the bench lab's veth path measured 265 ms for 65,534 SYNs without
// stamps, 268 ms with the tap on and 298 ms with error-queue stamps. Setting
// a ring up and tearing it down waits for RCU grace periods (~10 ms each),
// which a link for a few probes (LinkConfig.SocketQueue) does not pay: it
// keeps the error queue.
//
// The ring is TPACKET_V2, whose frames the kernel hands over one by one: a
// V3 block is handed over only when full or after its timeout, too late
// for a write that waits for its own frames.
const (
	tapFrameSize   = 256 // a V2 header, sockaddr_ll and txKeyLen bytes of frame
	tapBlockSize   = 64 << 10
	tapBlockFrames = tapBlockSize / tapFrameSize
	tapMinFrames   = 4096
)

// tapBlocksFor returns how many blocks a tap's ring has in a process of
// procs Go Ps: room for tapMinFrames frames, and for four batches a P. A
// write drains the ring before it sends (writeRaw) and claims its frames
// after; a sender holds its P through the send call, so about one batch a
// P is in the ring unread (the rest is margin for a sender descheduled
// between its send and its claim). A frame the kernel finds no room for
// loses its time.
func tapBlocksFor(procs int) int {
	frames := max(tapMinFrames, 4*procs*MaxBatch)
	return (frames + tapBlockFrames - 1) / tapBlockFrames
}

// txTap is a transmit tap's socket and ring.
type txTap struct {
	fd     int
	mem    []byte
	frames int // in the ring
	head   int // the next frame to read; txStamper.mu
}

// tapMaxSegment is the longest IP packet a prober sends: an IPv6 header and
// a TCP header with 40 bytes of options, no payload. Longer frames are
// another program's data, which the tap does not copy.
const tapMaxSegment = 40 + 60

// sentTCPFilter passes the outgoing TCP frames (pkttype PACKET_OUTGOING,
// IPv4 or IPv6 by the frame's protocol) of a link whose frames carry hdrLen
// bytes of link header, txKeyLen bytes of each, when they are no longer
// than a prober's segment: the data another program sends through the
// interface meanwhile is not cloned into the ring.
func sentTCPFilter(hdrLen int) ([]bpf.RawInstruction, error) {
	h := uint32(hdrLen)
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: pktOutgoing, SkipFalse: 10},
		bpf.LoadExtension{Num: bpf.ExtLen},
		bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: h + tapMaxSegment, SkipTrue: 8},
		bpf.LoadExtension{Num: bpf.ExtProto},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP, SkipFalse: 2},
		bpf.LoadAbsolute{Off: h + 9, Size: 1}, // IPv4 protocol
		bpf.Jump{Skip: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6, SkipFalse: 3},
		bpf.LoadAbsolute{Off: h + 6, Size: 1}, // IPv6 next header
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_TCP, SkipFalse: 1},
		bpf.RetConstant{Val: txKeyLen},
		bpf.RetConstant{Val: 0},
	})
}

// newTxTap opens a transmit tap's socket on ifi for a link of socket type
// typ (SOCK_RAW or SOCK_DGRAM); setup makes it work. The socket is made
// here, on the caller's thread, because that thread's network namespace is
// the socket's; setup may then run anywhere.
func newTxTap(ifi *net.Interface, typ int) (*txTap, error) {
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("rawsock: transmit tap on %s: %w", ifi.Name, err)
	}
	return &txTap{fd: fd}, nil
}

// setup installs the filter for a link header of hdrLen bytes, maps the
// ring and binds the socket to ifi; the ring comes before the bind, so the
// tap sees nothing until it is ready. On error the caller closes the socket.
func (t *txTap) setup(ifi *net.Interface, hdrLen int) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("rawsock: transmit tap on %s: %s: %w", ifi.Name, what, err)
	}
	prog, err := sentTCPFilter(hdrLen)
	if err != nil {
		return fail("assemble filter", err)
	}
	f := make([]unix.SockFilter, len(prog))
	for i, p := range prog {
		f[i] = unix.SockFilter{Code: p.Op, Jt: p.Jt, Jf: p.Jf, K: p.K}
	}
	if err := unix.SetsockoptSockFprog(t.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}); err != nil {
		return fail("SO_ATTACH_FILTER", err)
	}
	// Timestamps on: the taps' shared stamp is then taken as the frame
	// is cloned for them, before the first tap runs.
	if err := unix.SetsockoptInt(t.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	if err := unix.SetsockoptInt(t.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fail("PACKET_VERSION TPACKET_V2", err)
	}
	blocks := tapBlocksFor(runtime.GOMAXPROCS(0))
	req := unix.TpacketReq{Block_size: tapBlockSize, Block_nr: uint32(blocks), Frame_size: tapFrameSize, Frame_nr: uint32(blocks * tapBlockFrames)}
	if err := unix.SetsockoptTpacketReq(t.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fail("PACKET_RX_RING", err)
	}
	mem, err := unix.Mmap(t.fd, 0, tapBlockSize*blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mapping the ring", err)
	}
	t.mem, t.frames = mem, blocks*tapBlockFrames
	if err := unix.Bind(t.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	return nil
}

// next returns the frame at the ring's head and its time (Unix ns, 0 when
// the kernel gave none), or ok false when the kernel has not handed that
// frame over yet. The caller hands it back with release. txStamper.mu is
// held.
func (t *txTap) next() (frame []byte, ns int64, ok bool) {
	off := t.head * tapFrameSize
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&t.mem[off]))
	if atomic.LoadUint32(&h.Status)&unix.TP_STATUS_USER == 0 {
		return nil, 0, false
	}
	start, end := int(h.Mac), int(h.Mac)+int(h.Snaplen)
	if start < unix.SizeofTpacket2Hdr || end > tapFrameSize {
		return nil, 0, true // a header the kernel never writes: skip the frame
	}
	return t.mem[off+start : off+end], int64(h.Sec)*1e9 + int64(h.Nsec), true
}

// release hands the frame at the head back to the kernel and moves on.
func (t *txTap) release() {
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&t.mem[t.head*tapFrameSize]))
	atomic.StoreUint32(&h.Status, unix.TP_STATUS_KERNEL)
	t.head = (t.head + 1) % t.frames
}

// close unmaps the ring and closes the socket; nobody may drain it.
func (t *txTap) close() error {
	if t.mem != nil {
		_ = unix.Munmap(t.mem)
	}
	return unix.Close(t.fd)
}
