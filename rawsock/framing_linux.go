package rawsock

import (
	"fmt"
	"net"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
)

// framing says how frames look on ifi, from its ARPHRD type: the packet
// socket type to open, the link header length (14 for Ethernet and
// loopback, 0 for none: TUN, WireGuard) and the encapsulation name
// ("ether", "loopback" or "none").
func framing(ifi *net.Interface) (typ packet.Type, hdrLen int, encap string, err error) {
	nl, err := netlink.LinkByIndex(ifi.Index)
	if err != nil {
		return 0, 0, "", fmt.Errorf("rawsock: look up interface %s (index %d): %w", ifi.Name, ifi.Index, err)
	}
	switch encap = nl.Attrs().EncapType; encap {
	case "ether", "loopback":
		return packet.Raw, ethHeaderLen, encap, nil
	case "none":
		return packet.Datagram, 0, encap, nil
	}
	return 0, 0, "", fmt.Errorf("rawsock: interface %s has link type %q; only Ethernet, loopback and none (TUN, WireGuard) are supported", ifi.Name, encap)
}
