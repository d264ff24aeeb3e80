package rawsock

import (
	"errors"
	"net/netip"

	"golang.org/x/net/bpf"
)

// tapFilter returns the classic BPF program of a Tap: it passes the TCP
// segments of one connection, local ↔ remote, in both directions (IPv4
// non-fragments, and IPv6 whose next header is TCP), and nothing else.
// linkHdrLen is 14 (Ethernet or loopback framing) or 0 (no link layer).
func tapFilter(linkHdrLen int, local, remote netip.AddrPort) ([]bpf.Instruction, error) {
	la, ra := local.Addr().Unmap(), remote.Addr().Unmap()
	if !la.IsValid() || !ra.IsValid() || la.Is4() != ra.Is4() {
		return nil, errors.New("rawsock: a tap needs a local and a remote address of one family")
	}
	if linkHdrLen != 0 && linkHdrLen != ethHeaderLen {
		return nil, errors.New("rawsock: unsupported link header length for a tap")
	}
	l := uint32(linkHdrLen)
	reject := bpf.RetConstant{Val: 0}
	accept := bpf.RetConstant{Val: acceptLen}
	var prog []bpf.Instruction
	// The family: the EtherType, or the version nibble without a link layer.
	if linkHdrLen == 0 {
		want := uint32(4)
		if la.Is6() {
			want = 6
		}
		prog = append(prog,
			bpf.LoadAbsolute{Off: 0, Size: 1},
			bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: want, SkipFalse: 1},
			bpf.Jump{Skip: 1},
			reject)
	} else {
		want := uint32(etherTypeIPv4)
		if la.Is6() {
			want = etherTypeIPv6
		}
		prog = append(prog,
			bpf.LoadAbsolute{Off: 12, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: want, SkipFalse: 1},
			bpf.Jump{Skip: 1},
			reject)
	}
	// block matches one direction; every failed test jumps past it.
	block := func(src, dst netip.AddrPort) []bpf.Instruction {
		var b []bpf.Instruction
		cmp := func(load bpf.Instruction, val uint32) {
			b = append(b, load, bpf.JumpIf{Cond: bpf.JumpEqual, Val: val})
		}
		if la.Is4() {
			s, d := src.Addr().Unmap().As4(), dst.Addr().Unmap().As4()
			cmp(bpf.LoadAbsolute{Off: l + 12, Size: 4}, be32(s[:]))
			cmp(bpf.LoadAbsolute{Off: l + 16, Size: 4}, be32(d[:]))
			b = append(b, bpf.LoadMemShift{Off: l})
			cmp(bpf.LoadIndirect{Off: l, Size: 2}, uint32(src.Port()))
			cmp(bpf.LoadIndirect{Off: l + 2, Size: 2}, uint32(dst.Port()))
		} else {
			s, d := src.Addr().As16(), dst.Addr().As16()
			for w := range 4 {
				cmp(bpf.LoadAbsolute{Off: l + 8 + 4*uint32(w), Size: 4}, be32(s[4*w:]))
			}
			for w := range 4 {
				cmp(bpf.LoadAbsolute{Off: l + 24 + 4*uint32(w), Size: 4}, be32(d[4*w:]))
			}
			cmp(bpf.LoadAbsolute{Off: l + 40, Size: 2}, uint32(src.Port()))
			cmp(bpf.LoadAbsolute{Off: l + 42, Size: 2}, uint32(dst.Port()))
		}
		b = append(b, accept)
		for i := range b {
			if j, ok := b[i].(bpf.JumpIf); ok {
				j.SkipFalse = uint8(len(b) - 1 - i)
				b[i] = j
			}
		}
		return b
	}
	if la.Is4() {
		// TCP, and not a later fragment (which carries no TCP header).
		prog = append(prog,
			bpf.LoadAbsolute{Off: l + 9, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoTCP, SkipFalse: 2},
			bpf.LoadAbsolute{Off: l + 6, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipFalse: 1},
			reject)
	} else {
		prog = append(prog,
			bpf.LoadAbsolute{Off: l + 6, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: protoTCP, SkipFalse: 0, SkipTrue: 1},
			reject)
	}
	prog = append(prog, block(local, remote)...)
	prog = append(prog, block(remote, local)...)
	prog = append(prog, reject)
	return prog, nil
}
