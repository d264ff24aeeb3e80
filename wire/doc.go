// Package wire encodes and decodes the IPv4, IPv6 and TCP headers that
// tcpprobe puts on the wire and reads back: views over byte slices with
// named offsets, a SYN/RST encoder that writes into a caller's buffer
// without allocating, and decoders that validate every length before
// slicing and never panic on what the network sends.
package wire
