package bench

import (
	"net"
	"net/netip"
)

// CeilingConfig says what the minimal sender sends.
type CeilingConfig struct {
	Interface string           // leave through this interface
	DstMAC    net.HardwareAddr // next hop
	Src, Dst  netip.Addr       // IPv4 addresses
	SrcPort   uint16
	Packets   int // how many SYNs, to destination ports 1, 2, ... wrapping at 65535
	Batch     int // frames per sendmmsg (1: one sendto per frame)
	Workers   int // threads sending at once over the one socket (0: 1)
}
