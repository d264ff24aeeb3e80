package rx

import "strconv"

// Drop is why the receive path dropped a frame, as the kernel would have.
// Its String is a stable machine word for results and counters.
type Drop uint8

// The reasons, by stage. Each names the kernel function that drops such a
// packet; Counter says which counter of nstat the kernel raises, if any.
const (
	DropNone Drop = iota

	// Link layer.
	DropOutgoing        // our own frame looped back to the tap (never enters the stack)
	DropOtherHost       // PACKET_OTHERHOST: ip_rcv_core / ipv6_rcv_core
	DropVLAN            // tagged for a VLAN with no interface here: __netif_receive_skb_core marks it PACKET_OTHERHOST
	DropNotHost         // TCP in a broadcast/multicast frame: tcp_v4_rcv / tcp_v6_rcv want PACKET_HOST
	DropL2Multicast     // unicast IP in an L2 broadcast/multicast frame with drop_unicast_in_l2_multicast
	DropUnknownLinkType // a packet type the kernel does not deliver to IP

	// IPv4.
	DropIPVersion   // version nibble is not the EtherType's: ip_rcv_core / ipv6_rcv_core
	DropIPHeader    // IHL < 5, total length < IHL, header past the packet: ip_rcv_core
	DropIPChecksum  // header checksum: ip_rcv_core
	DropIPTruncated // total length past the packet: ip_rcv_core
	DropIPMartian   // source multicast, broadcast, 0/8 or loopback: ip_route_input_slow
	DropIPOptions   // ip_options_compile rejects an option
	DropSourceRoute // LSRR/SSRR with accept_source_route off, or a route not exhausted: ip_rcv_options

	// IPv6.
	DropIP6Header        // ipv6_rcv_core: truncated, loopback or multicast source, bad multicast destination
	DropIP6ExtHeader     // an extension header runs past the packet, or is longer than max_dst_opts_length / max_hbh_length
	DropIP6Option        // ip6_parse_tlv: padding rules, option count, malformed or failing known option
	DropIP6OptionAction  // ip6_tlvopt_unknown: an unknown option whose action bits say discard
	DropIP6Routing       // ipv6_rthdr_rcv: segments left on a type it will not route, or SRH/RPL off
	DropIP6UnknownHeader // ip6_protocol_deliver_rcu: no handler (hop-by-hop not first, AH, ESP, no-next-header)

	// Fragments.
	DropFragQueued    // held in a reassembly queue: not a drop, the datagram is not complete yet
	DropFragOverlap   // overlaps a fragment already queued: the whole datagram is dropped (RFC 5722)
	DropFragDuplicate // lies within fragments already queued: this copy is dropped, the queue kept
	DropFragInvalid   // lengths that contradict the queue, zero length, not a multiple of 8, too long
	DropFragMemory    // fragment memory above ipfrag_high_thresh: inet_frag_find refuses
	DropFragHeader    // IPv6 first fragment without the whole upper-layer header: ipv6frag_thdr_truncated

	// Transport.
	DropNotTCPOrICMP    // another protocol: not for a probe
	DropTCPHeader       // shorter than 20 bytes or data offset < 5 / past the segment: tcp_v4_rcv
	DropTCPAuthHeader   // malformed or doubled MD5/AO option: tcp_inbound_hash
	DropTCPMD5          // MD5 option on a socket without a key: tcp_inbound_md5_hash
	DropTCPAO           // AO option on a socket without AO: tcp_inbound_ao_hash
	DropTCPChecksum     // tcp_checksum_complete
	DropICMPHeader      // shorter than the ICMP header: icmp_rcv / icmpv6_rcv
	DropICMPChecksum    // icmp_rcv / icmpv6_rcv checksum
	DropICMPNotError    // not an error message (echo, ND, ...): nothing for TCP
	DropICMPQuote       // quote too short for its header and 8 bytes: icmp_unreach / icmpv6_notify
	DropICMPQuoteNotTCP // the quote is of another protocol
	// DropReversePath: the reverse-path filter of the interface the packet
	// came in on (rp_filter) refuses its source. The pipeline does not
	// decide it (it needs the routing table); its caller does.
	DropReversePath

	// NumDrops is one more than the last reason: the length of
	// Pipeline.Counts.
	NumDrops
)

var dropInfo = [NumDrops]struct {
	word, fn, counter string
}{
	DropNone:             {"none", "", ""},
	DropOutgoing:         {"link-outgoing", "packet_rcv (PACKET_OUTGOING)", ""},
	DropOtherHost:        {"link-other-host", "ip_rcv_core / ipv6_rcv_core", "(device rx_otherhost_dropped)"},
	DropVLAN:             {"link-vlan", "__netif_receive_skb_core", "(device rx_otherhost_dropped)"},
	DropNotHost:          {"link-not-host", "tcp_v4_rcv / tcp_v6_rcv", ""},
	DropL2Multicast:      {"link-unicast-in-l2-multicast", "ip_rcv_finish_core / ipv6_rcv_core", ""},
	DropUnknownLinkType:  {"link-type", "packet_rcv", ""},
	DropIPVersion:        {"ip-version", "ip_rcv_core / ipv6_rcv_core", "IpInHdrErrors / Ip6InHdrErrors"},
	DropIPHeader:         {"ip-header", "ip_rcv_core", "IpInHdrErrors"},
	DropIPChecksum:       {"ip-checksum", "ip_rcv_core", "IpInHdrErrors, IpExtInCsumErrors"},
	DropIPTruncated:      {"ip-truncated", "ip_rcv_core / ipv6_rcv_core", "IpInTruncatedPkts / Ip6InTruncatedPkts"},
	DropIPMartian:        {"ip-martian-source", "ip_route_input_slow", "(martian log)"},
	DropIPOptions:        {"ip-options", "ip_options_compile", "IpInHdrErrors"},
	DropSourceRoute:      {"ip-source-route", "ip_rcv_options / ip_options_rcv_srr", ""},
	DropIP6Header:        {"ip6-header", "ipv6_rcv_core", "Ip6InHdrErrors"},
	DropIP6ExtHeader:     {"ip6-ext-header", "ipv6_parse_hopopts / ipv6_destopt_rcv / ipv6_rthdr_rcv", "Ip6InHdrErrors"},
	DropIP6Option:        {"ip6-option", "ip6_parse_tlv", "Ip6InHdrErrors"},
	DropIP6OptionAction:  {"ip6-option-action", "ip6_tlvopt_unknown", "Ip6InHdrErrors"},
	DropIP6Routing:       {"ip6-routing-header", "ipv6_rthdr_rcv", "Ip6InHdrErrors / Ip6InAddrErrors"},
	DropIP6UnknownHeader: {"ip6-unknown-header", "ip6_protocol_deliver_rcu", "Ip6InUnknownProtos"},
	DropFragQueued:       {"frag-queued", "ip_frag_queue / ip6_frag_queue", ""},
	DropFragOverlap:      {"frag-overlap", "inet_frag_queue_insert", "IpReasmFails, IpExtReasmOverlaps / Ip6ReasmFails"},
	DropFragDuplicate:    {"frag-duplicate", "inet_frag_queue_insert", ""},
	DropFragInvalid:      {"frag-invalid", "ip_frag_queue / ip6_frag_queue", "IpReasmFails / Ip6ReasmFails"},
	DropFragMemory:       {"frag-memory", "inet_frag_find", "IpReasmFails / Ip6ReasmFails"},
	DropFragHeader:       {"frag-first-truncated", "ipv6_frag_rcv (ipv6frag_thdr_truncated)", "Ip6InUnknownProtos"},
	DropNotTCPOrICMP:     {"not-tcp-or-icmp", "ip_local_deliver_finish", ""},
	DropTCPHeader:        {"tcp-header", "tcp_v4_rcv / tcp_v6_rcv", "TcpInErrs"},
	DropTCPAuthHeader:    {"tcp-auth-option", "tcp_inbound_hash", ""},
	DropTCPMD5:           {"tcp-md5-unexpected", "tcp_inbound_md5_hash", "TcpExtTCPMD5Unexpected"},
	DropTCPAO:            {"tcp-ao-unexpected", "tcp_inbound_ao_hash", "TcpExtTCPAOKeyNotFound"},
	DropTCPChecksum:      {"tcp-checksum", "tcp_checksum_complete", "TcpInCsumErrors"},
	DropICMPHeader:       {"icmp-header", "icmp_rcv / icmpv6_rcv", "IcmpInErrors"},
	DropICMPChecksum:     {"icmp-checksum", "icmp_rcv / icmpv6_rcv", "IcmpInCsumErrors / Icmp6InCsumErrors"},
	DropICMPNotError:     {"icmp-not-error", "icmp_rcv / icmpv6_rcv", ""},
	DropICMPQuote:        {"icmp-quote", "icmp_unreach / icmp_socket_deliver / icmpv6_notify", "IcmpInErrors"},
	DropICMPQuoteNotTCP:  {"icmp-quote-not-tcp", "icmp_socket_deliver / icmpv6_notify", ""},
	DropReversePath:      {"ip-reverse-path", "fib_validate_source (rp_filter)", "IPReversePathFilter"},
}

// String returns the reason's machine word, e.g. "ip-options".
func (d Drop) String() string {
	if d < NumDrops {
		return dropInfo[d].word
	}
	return "drop(" + strconv.Itoa(int(d)) + ")"
}

// Kernel names the kernel function that drops such a packet.
func (d Drop) Kernel() string {
	if d < NumDrops {
		return dropInfo[d].fn
	}
	return ""
}

// Counter names the nstat counter(s) the kernel raises for such a drop, ""
// when it raises none a user can read.
func (d Drop) Counter() string {
	if d < NumDrops {
		return dropInfo[d].counter
	}
	return ""
}

// Drops lists every reason but DropNone, in order: for tables and docs.
func Drops() []Drop {
	ds := make([]Drop, 0, NumDrops-1)
	for d := DropNone + 1; d < NumDrops; d++ {
		ds = append(ds, d)
	}
	return ds
}
