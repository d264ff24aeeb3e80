// Package rx is the kernel's receive path before a SYN_SENT socket, as a
// pure function of the bytes: it takes one received frame (the IP packet,
// the AF_PACKET packet type and the VLAN tag the link reported) and either
// hands back a TCP segment or an ICMP/ICMPv6 error ready for the
// demultiplexer, or says why Linux would have dropped it.
//
// The stages run in the kernel's order, and each follows one kernel
// function, with the sysctls that govern it read into a Config:
//
//	link       __netif_receive_skb_core (VLAN), ip_rcv_core/ipv6_rcv_core (PACKET_OTHERHOST),
//	           ip_rcv_finish_core (drop_unicast_in_l2_multicast), tcp_v4_rcv (PACKET_HOST only)
//	IPv4       ip_rcv_core, ip_route_input_slow (martian sources), ip_rcv_options →
//	           ip_options_compile, accept_source_route
//	IPv6       ipv6_rcv_core, ipv6_parse_hopopts/ipv6_destopt_rcv → ip6_parse_tlv,
//	           ipv6_rthdr_rcv, ip6_protocol_deliver_rcu (unknown next header)
//	fragments  ip_defrag/ip_frag_queue, ipv6_frag_rcv/ip6_frag_queue, inet_frag_queue_insert
//	TCP        tcp_v4_rcv/tcp_v6_rcv: header, tcp_inbound_hash (MD5/AO), checksum
//	ICMP       icmp_rcv/icmp_unreach, icmpv6_rcv/icmpv6_notify: checksum, quote
//
// What the socket itself decides (the ACK and PAWS checks, the ICMP quote's
// sequence number, ICMP errno tables) is the job of probe.Machine, after
// the demultiplexer has found the probe by 4-tuple.
//
// A Pipeline holds the fragment queues; it takes the time as an argument
// and never reads a clock, and on the path of an unfragmented packet it
// does not allocate.
package rx
