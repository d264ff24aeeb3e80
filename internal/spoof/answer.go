package spoof

import (
	"net"
	"time"
)

// Send is one frame a Forger sends in answer to a SYN.
type Send struct {
	// After is how long after the SYN was seen the frame leaves; the
	// frames of one answer leave in order, each not before its After. A small
	// delay keeps an answer from reaching the kernel while its connect()
	// still holds the socket lock (lab-notes, "Zero-latency artifact").
	After time.Duration
	// Packet is the IP packet.
	Packet []byte
	// DstMAC is the frame's destination; nil means the SYN's sender.
	DstMAC net.HardwareAddr
	// VLAN, when not 0, tags the frame with this 802.1Q VLAN ID.
	VLAN uint16
	// Repeat sends the same frame this many times back to back (0 and 1:
	// once): a flood.
	Repeat int
	// Then, when set, is called once the frame (every repeat) has left.
	Then func()
}

// Answer returns what to send for the n-th SYN (n from 1) of one flow
// (source address and port, destination address and port).
type Answer func(s SYN, n int) []Send
