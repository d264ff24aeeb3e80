// Package lifecycle follows a TCP connection past the SYN-ACK: the whole
// handshake carried by the kernel's own TCP (--handshake full) while a
// rawsock.Tap records every segment both ways, the data and the banner,
// the four-way close and what it says about the server (half-close, RST on
// close, a re-sent FIN, TIME_WAIT), a full accept queue seen from the
// client, and the ACK probe (--scan ack), its own small engine.
//
// Analyse is pure: it turns recorded segments into a probe.Handshake and a
// probe.Close, so the tests feed it hand-made conversations. The socket
// work lives in the _linux.go files.
package lifecycle
