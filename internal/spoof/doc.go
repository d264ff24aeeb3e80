// Package spoof forges the packets a hostile network throws at a prober
// waiting in SYN_SENT (issues 6 and 11): replies built from the probe's own
// SYN (its ports and ISS) that a careful TCP must not believe: an RST without
// ACK, RST+ACK and SYN-ACK with ACK ≠ ISS+1, ICMP errors quoting another
// sequence number or other ports, ICMP and TCP with broken checksums; and
// the helpers to build malformed variants (lying lengths, IPv6 extension
// headers). A Tap (Linux) captures and injects Ethernet frames on one
// interface, so a test can play the attacker from another namespace.
//
// Packet, TCP and ICMP build any IP packet field by field (IPv4 options,
// IPv6 extension headers, fragments in any order or overlapping), Ethernet
// frames it with any MAC or an 802.1Q tag, and a Forger (Linux) sits on a
// Tap and answers each SYN it sees by destination port with the frames an
// Answer returns: the forged-reply suite of issue 11.
//
// It is test support: nothing outside tests imports it.
package spoof
