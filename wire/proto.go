package wire

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), the
// values of the IPv4 protocol field and of the IPv6 next-header chain.
// ProtocolTCP lives beside the IPv4 header.
const (
	ProtocolICMP   = 1  // ICMP (RFC 792)
	ProtocolICMPv6 = 58 // ICMPv6 (RFC 4443)
)
