package wire

// TCP authentication option kinds and sizes: TCP-MD5 (RFC 2385) and TCP-AO
// (RFC 5925).
const (
	OptMD5    = 19
	OptAO     = 29
	OptMD5Len = 18 // kind, length, 16-byte digest
	// OptAOMinLen is one more than the AO header (kind, length, KeyID,
	// RNextKeyID): Linux rejects an AO option of 4 bytes or fewer.
	OptAOMinLen = 5
)

// AuthOptions says which authentication options a TCP header carries.
type AuthOptions struct {
	MD5 bool // a TCP-MD5 signature option
	AO  bool // a TCP-AO option
}

// ParseAuthOptions reads the TCP-MD5 and TCP-AO options of a TCP option
// area exactly as Linux's tcp_do_parse_auth_options() (net/ipv4/tcp.c)
// does, for a kernel built with TCP-MD5 and, when kernelAO, with TCP-AO.
//
// The kernel's walk has quirks this reproduces: it stops as soon as fewer
// than 18 bytes (5 with TCP-AO) are left, so a malformed option in the
// tail passes; while it walks, an option whose length is below 2 or runs
// past the area, an MD5 option whose length is not 18, an AO option of 4
// bytes or fewer, or a second MD5/AO option is an error (ErrBadOption), and
// the kernel drops the segment (tcp_inbound_hash: SKB_DROP_REASON_TCP_AUTH_HDR).
// It never allocates or panics.
func ParseAuthOptions(opts []byte, kernelAO bool) (AuthOptions, error) {
	var a AuthOptions
	minlen := OptMD5Len
	if kernelAO {
		minlen = OptAOMinLen
	}
	for len(opts) >= minlen {
		kind := opts[0]
		switch kind {
		case OptEOL:
			return a, nil
		case OptNOP:
			opts = opts[1:]
			continue
		}
		size := int(opts[1])
		if size < 2 || size > len(opts) {
			return a, errOptLength
		}
		switch kind {
		case OptMD5:
			if size != OptMD5Len {
				return a, errOptMD5
			}
			if a.MD5 || a.AO {
				return a, errOptAuthTwice
			}
			a.MD5 = true
		case OptAO:
			if size < OptAOMinLen {
				return a, errOptAO
			}
			if a.MD5 || a.AO {
				return a, errOptAuthTwice
			}
			a.AO = true
		}
		opts = opts[size:]
	}
	return a, nil
}
