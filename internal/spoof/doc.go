// Package spoof forges the packets a hostile network throws at a prober
// waiting in SYN_SENT (issue 6): replies built from the probe's own SYN
// (its ports and ISS) that a careful TCP must not believe: an RST without
// ACK, RST+ACK and SYN-ACK with ACK ≠ ISS+1, ICMP errors quoting another
// sequence number or other ports, ICMP and TCP with broken checksums; and
// the helpers to build malformed variants (lying lengths, IPv6 extension
// headers). A Tap (Linux) captures and injects Ethernet frames on one
// interface, so a test can play the attacker from another namespace.
//
// It is test support: nothing outside tests imports it.
package spoof
