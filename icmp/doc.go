// Package icmp reads the ICMP and ICMPv6 error messages that answer a
// tcpprobe SYN and says what each one means to a connection in SYN_SENT.
//
// Parse checks the message (checksum, type, length) and extracts the
// datagram it quotes: the offending IP header and the first 8 bytes of its
// TCP header, which hold the ports and the sequence number (spec §2.3).
// Quote.Matches then ties the message to one probe by its 4-tuple and ISS.
//
// Linux and BSD44 map a parsed message to a Verdict: the errno connect(2)
// would report and whether TCP acts on the message at all, under the
// semantics of current Linux (spec §3.1, §3.2, §3.4) and of 4.4BSD-Lite2
// (spec §3.5.1; FreeBSD's ICMPv6 mapping, §3.5.2, stands in for IPv6, which
// 4.4BSD lacks). The tables behind them are data in tables.go, each with the
// kernel source it was read from.
//
// Parse does not allocate and never panics, whatever the bytes; it is meant
// for the receive hot path.
package icmp
