package lifecycle

import (
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TCP states as sock_diag reports them (include/net/tcp_states.h), named
// as ss(8) prints them.
var stateNames = [...]string{
	1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
	6: "TIME-WAIT", 7: "CLOSED", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING",
	12: "SYN-RECV",
}

// StateName returns ss(8)'s name of a TCP state number.
func StateName(s uint8) string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// socketState asks sock_diag what the local kernel holds for local ↔
// remote: its state and the time left on its timer ("" when nothing).
func socketState(local, remote netip.AddrPort) (string, time.Duration) {
	fam := uint8(unix.AF_INET)
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		fam = unix.AF_INET6
	}
	socks, err := netlink.SocketDiagTCP(fam)
	if err != nil {
		return "", 0
	}
	for _, s := range socks {
		src, _ := netip.AddrFromSlice(s.ID.Source)
		dst, _ := netip.AddrFromSlice(s.ID.Destination)
		if src.Unmap() == local.Addr().Unmap() && dst.Unmap() == remote.Addr().Unmap() &&
			s.ID.SourcePort == local.Port() && s.ID.DestinationPort == remote.Port() {
			return StateName(s.State), time.Duration(s.Expires) * time.Millisecond
		}
	}
	return "", 0
}
