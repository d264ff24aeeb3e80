package rawsock

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/net/bpf"
)

// Values the BPF program compares against.
const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeARP  = 0x0806

	protoICMP   = 1
	protoTCP    = 6
	protoICMPv6 = 58

	// IPv6 extension headers after which TCP or ICMPv6 may still follow: the
	// filter passes them conservatively and leaves the parsing to the caller.
	protoHopByHop = 0
	protoRouting  = 43
	protoFragment = 44
	protoDstOpts  = 60

	// pktOutgoing is PACKET_OUTGOING, the pkttype of a frame this host sent.
	pktOutgoing = 4

	// acceptLen is the snap length an accepting filter returns: all of it.
	acceptLen = 0x40000

	// maxFilterLen is BPF_MAXINSNS.
	maxFilterLen = 4096

	ethHeaderLen = 14
)

// outgoingFilter rejects frames the host itself transmits (pkttype
// PACKET_OUTGOING, read with the SKF_AD_PKTTYPE ancillary load). It runs
// before filterProgram's instructions. x/net/bpf's VM cannot run ancillary
// loads, so the tests run filterProgram alone and prove this part on a live
// socket.
func outgoingFilter() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: pktOutgoing, SkipTrue: 0, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	}
}

// filterProgram returns the classic BPF program that passes IPv4 and IPv6
// packets carrying TCP or ICMP/ICMPv6 (IPv6 with an extension header passes
// conservatively) whose destination is one of addrs. linkHdrLen is 14 for
// Ethernet framing (the EtherType decides the family) and 0 for links without
// a link layer (the IP version nibble decides). Every jump is short, so the
// program works for any number of addresses up to BPF_MAXINSNS.
func filterProgram(linkHdrLen int, addrs []netip.Addr) ([]bpf.Instruction, error) {
	if linkHdrLen != 0 && linkHdrLen != ethHeaderLen {
		return nil, fmt.Errorf("rawsock: unsupported link header length %d", linkHdrLen)
	}
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		switch {
		case a.Is4():
			v4 = append(v4, a)
		case a.Is6():
			v6 = append(v6, a)
		}
	}
	if len(v4)+len(v6) == 0 {
		return nil, errors.New("rawsock: no valid local address for the receive filter; set LinkConfig.Addrs")
	}
	slices.SortFunc(v4, netip.Addr.Compare)
	v4 = slices.Compact(v4)
	slices.SortFunc(v6, netip.Addr.Compare)
	v6 = slices.Compact(v6)

	l := uint32(linkHdrLen)
	reject := bpf.RetConstant{Val: 0}
	accept := bpf.RetConstant{Val: acceptLen}

	// IPv4: protocol at 9, destination at 16.
	sec4 := []bpf.Instruction{
		bpf.LoadAbsolute{Off: l + 9, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoTCP, SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoICMP, SkipTrue: 1},
		reject,
		bpf.LoadAbsolute{Off: l + 16, Size: 4},
	}
	for _, a := range v4 {
		b := a.As4()
		sec4 = append(sec4,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: be32(b[:]), SkipFalse: 1},
			accept)
	}
	sec4 = append(sec4, reject)

	// IPv6: next header at 6, destination at 24..40.
	nexts := []uint32{protoTCP, protoICMPv6, protoHopByHop, protoRouting, protoFragment, protoDstOpts}
	sec6 := []bpf.Instruction{bpf.LoadAbsolute{Off: l + 6, Size: 1}}
	for i, p := range nexts {
		sec6 = append(sec6, bpf.JumpIf{Cond: bpf.JumpEqual, Val: p, SkipTrue: uint8(len(nexts) - i)})
	}
	sec6 = append(sec6, reject)
	for _, a := range v6 {
		b := a.As16()
		for w := range 4 {
			sec6 = append(sec6,
				bpf.LoadAbsolute{Off: l + 24 + 4*uint32(w), Size: 4},
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: be32(b[4*w:]), SkipFalse: uint8(7 - 2*w)})
		}
		sec6 = append(sec6, accept)
	}
	sec6 = append(sec6, reject)

	// Dispatch on the family, then jump (32-bit offsets) to the section.
	var prog []bpf.Instruction
	var is4, is6 uint32
	if linkHdrLen == 0 {
		prog = []bpf.Instruction{
			bpf.LoadAbsolute{Off: 0, Size: 1},
			bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4},
		}
		is4, is6 = 4, 6
	} else {
		prog = []bpf.Instruction{bpf.LoadAbsolute{Off: 12, Size: 2}}
		is4, is6 = etherTypeIPv4, etherTypeIPv6
	}
	prog = append(prog,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: is4, SkipFalse: 1},
		bpf.Jump{Skip: 3}, // to sec4
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: is6, SkipFalse: 1},
		bpf.Jump{Skip: uint32(1 + len(sec4))}, // to sec6
		reject,
	)
	prog = append(prog, sec4...)
	prog = append(prog, sec6...)
	if n := len(prog) + len(outgoingFilter()); n > maxFilterLen {
		return nil, fmt.Errorf("rawsock: receive filter for %d addresses needs %d BPF instructions, more than the kernel's %d; use fewer local addresses per link",
			len(v4)+len(v6), n, maxFilterLen)
	}
	return prog, nil
}

// assembleFilter assembles the full program a Link installs: the outgoing
// check followed by filterProgram.
func assembleFilter(linkHdrLen int, addrs []netip.Addr) ([]bpf.RawInstruction, error) {
	core, err := filterProgram(linkHdrLen, addrs)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(append(outgoingFilter(), core...))
	if err != nil {
		return nil, fmt.Errorf("rawsock: assemble receive filter: %w", err)
	}
	return raw, nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
