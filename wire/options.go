package wire

import "encoding/binary"

// TCP option kinds and lengths (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	OptEOL           = 0
	OptNOP           = 1
	OptMSS           = 2
	OptWScale        = 3
	OptSACKPermitted = 4
	OptSACK          = 5
	OptTimestamps    = 8

	OptMSSLen           = 4
	OptWScaleLen        = 3
	OptSACKPermittedLen = 2
	OptTimestampsLen    = 10
)

// Options are the TCP options tcpprobe sends and reads.
type Options struct {
	MSS    uint16 // maximum segment size, valid when HasMSS
	HasMSS bool

	WScale    uint8 // window scale shift count as received (not clamped to 14), valid when HasWScale
	HasWScale bool

	SACKPermitted bool

	HasTimestamps bool
	TSVal, TSEcr  uint32 // valid when HasTimestamps
}

// Len returns the encoded length in bytes, padding included: a multiple of
// 4, at most 20.
func (o Options) Len() int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.HasTimestamps {
		n += 12 // SACK-permitted, if set, rides in the timestamps word's padding
	} else if o.SACKPermitted {
		n += 4
	}
	if o.HasWScale {
		n += 4
	}
	return n
}

// put writes o into b in the order and padding of Linux's
// tcp_options_write (net/ipv4/tcp_output.c) and returns o.Len(). b must hold
// o.Len() bytes.
func (o Options) put(b []byte) int {
	n := 0
	if o.HasMSS {
		b[n], b[n+1] = OptMSS, OptMSSLen
		binary.BigEndian.PutUint16(b[n+2:], o.MSS)
		n += 4
	}
	if o.HasTimestamps {
		if o.SACKPermitted {
			b[n], b[n+1] = OptSACKPermitted, OptSACKPermittedLen
		} else {
			b[n], b[n+1] = OptNOP, OptNOP
		}
		b[n+2], b[n+3] = OptTimestamps, OptTimestampsLen
		binary.BigEndian.PutUint32(b[n+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[n+8:], o.TSEcr)
		n += 12
	} else if o.SACKPermitted {
		b[n], b[n+1], b[n+2], b[n+3] = OptNOP, OptNOP, OptSACKPermitted, OptSACKPermittedLen
		n += 4
	}
	if o.HasWScale {
		b[n], b[n+1], b[n+2], b[n+3] = OptNOP, OptWScale, OptWScaleLen, o.WScale
		n += 4
	}
	return n
}

// ParseOptions parses a TCP option area into o, which it first clears.
// Unknown options are skipped by their length; EOL ends the area. It returns
// an error (matching ErrBadOption) at the first malformed option: a missing
// or too-small length byte, a length running past b, or a known option with
// the wrong length. What was read before it is kept. A later occurrence of
// an option overrides an earlier one, as in Linux.
func ParseOptions(b []byte, o *Options) error {
	*o = Options{}
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case OptEOL:
			return nil
		case OptNOP:
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return errOptNoLength
		}
		size := int(b[1])
		if size < 2 {
			return errOptLength
		}
		if size > len(b) {
			return errOptOverrun
		}
		switch kind {
		case OptMSS:
			if size != OptMSSLen {
				return errOptMSS
			}
			o.MSS, o.HasMSS = binary.BigEndian.Uint16(b[2:]), true
		case OptWScale:
			if size != OptWScaleLen {
				return errOptWScale
			}
			o.WScale, o.HasWScale = b[2], true
		case OptSACKPermitted:
			if size != OptSACKPermittedLen {
				return errOptSACKPerm
			}
			o.SACKPermitted = true
		case OptTimestamps:
			if size != OptTimestampsLen {
				return errOptTimestamps
			}
			o.HasTimestamps = true
			o.TSVal = binary.BigEndian.Uint32(b[2:])
			o.TSEcr = binary.BigEndian.Uint32(b[6:])
		}
		b = b[size:]
	}
	return nil
}
