package wire

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Every error this package returns matches one of them
// with errors.Is; ErrTruncated also matches io.ErrUnexpectedEOF.
var (
	// ErrShortBuffer means the caller's buffer cannot hold the encoded
	// segment; MaxSegmentLen bytes always suffice.
	ErrShortBuffer = errors.New("wire: buffer too short for the segment: pass at least MaxSegmentLen bytes")
	// ErrTruncated means a header or a length field points past the end of
	// the bytes received.
	ErrTruncated = fmt.Errorf("wire: packet truncated: %w", io.ErrUnexpectedEOF)
	// ErrBadHeader means a header field holds a value no valid packet has.
	ErrBadHeader = errors.New("wire: malformed header")
	// ErrBadOption means a TCP option is malformed.
	ErrBadOption = errors.New("wire: malformed TCP option")
	// ErrBadSpec means a SegmentSpec cannot be encoded (invalid or mixed
	// address families, an out-of-range field).
	ErrBadSpec = errors.New("wire: invalid segment spec")
)

// wireError is a detailed error that unwraps to one of the sentinels. It is
// one byte wide so that returning it as an error never allocates: parsers
// see whatever the network sends, and rejecting garbage must stay cheap.
type wireError uint8

const (
	_ wireError = iota
	errEmpty
	errIPVersion
	errIPv4Short
	errIPv4IHL
	errIPv4IHLShort
	errIPv4TotalLen
	errIPv4TotalLenShort
	errIPv4Checksum
	errIPv6Short
	errIPv6PayloadLen
	errIPv6ExtShort
	errIPv6ExtType
	errIPv6NoNext
	errIPv6HopByHop
	errTCPShort
	errTCPDataOffset
	errTCPDataOffsetShort
	errOptNoLength
	errOptLength
	errOptOverrun
	errOptMSS
	errOptWScale
	errOptSACKPerm
	errOptTimestamps
	errOptMD5
	errOptAO
	errOptAuthTwice
	errSpecAddr
	errSpecFamily
	errSpec4in6
	errSpecFlowLabel
	errShortBuffer
)

var wireErrors = [...]struct {
	msg  string
	kind error
}{
	errEmpty:              {"empty packet", ErrTruncated},
	errIPVersion:          {"IP version is neither 4 nor 6", ErrBadHeader},
	errIPv4Short:          {"IPv4 header shorter than 20 bytes", ErrTruncated},
	errIPv4IHL:            {"IPv4 IHL below 5", ErrBadHeader},
	errIPv4IHLShort:       {"IPv4 IHL points past the end of the packet", ErrTruncated},
	errIPv4TotalLen:       {"IPv4 total length smaller than the header", ErrBadHeader},
	errIPv4TotalLenShort:  {"IPv4 total length larger than the packet received", ErrTruncated},
	errIPv4Checksum:       {"IPv4 header checksum mismatch", ErrBadHeader},
	errIPv6Short:          {"IPv6 header shorter than 40 bytes", ErrTruncated},
	errIPv6PayloadLen:     {"IPv6 payload length larger than the packet received", ErrTruncated},
	errIPv6ExtShort:       {"IPv6 extension header runs past the payload", ErrTruncated},
	errIPv6ExtType:        {"not an IPv6 extension header type", ErrBadHeader},
	errIPv6NoNext:         {"IPv6 no-next-header: no upper-layer header follows", ErrBadHeader},
	errIPv6HopByHop:       {"IPv6 hop-by-hop options header not first", ErrBadHeader},
	errTCPShort:           {"TCP header shorter than 20 bytes", ErrTruncated},
	errTCPDataOffset:      {"TCP data offset below 5", ErrBadHeader},
	errTCPDataOffsetShort: {"TCP data offset points past the end of the segment", ErrTruncated},
	errOptNoLength:        {"TCP option has no length byte", ErrBadOption},
	errOptLength:          {"TCP option length below 2", ErrBadOption},
	errOptOverrun:         {"TCP option length runs past the option area", ErrBadOption},
	errOptMSS:             {"TCP MSS option length is not 4", ErrBadOption},
	errOptWScale:          {"TCP window scale option length is not 3", ErrBadOption},
	errOptSACKPerm:        {"TCP SACK-permitted option length is not 2", ErrBadOption},
	errOptTimestamps:      {"TCP timestamps option length is not 10", ErrBadOption},
	errOptMD5:             {"TCP-MD5 option length is not 18", ErrBadOption},
	errOptAO:              {"TCP-AO option of 4 bytes or fewer", ErrBadOption},
	errOptAuthTwice:       {"second TCP-MD5 or TCP-AO option", ErrBadOption},
	errSpecAddr:           {"source or destination address is not set", ErrBadSpec},
	errSpecFamily:         {"source and destination address families differ", ErrBadSpec},
	errSpec4in6:           {"IPv4-mapped IPv6 address: unmap it and send IPv4", ErrBadSpec},
	errSpecFlowLabel:      {"IPv6 flow label does not fit in 20 bits", ErrBadSpec},
	errShortBuffer:        {"buffer shorter than the segment", ErrShortBuffer},
}

func (e wireError) Error() string {
	if int(e) >= len(wireErrors) || wireErrors[e].kind == nil {
		return "wire: unknown error"
	}
	return "wire: " + wireErrors[e].msg
}

// Unwrap returns the sentinel e belongs to.
func (e wireError) Unwrap() error {
	if int(e) >= len(wireErrors) {
		return nil
	}
	return wireErrors[e].kind
}
