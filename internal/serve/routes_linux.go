package serve

import (
	"net/netip"

	"github.com/vishvananda/netlink"
)

// routedPrefixes lists the destinations of the main routing table (the
// default route as 0.0.0.0/0 or ::/0).
func routedPrefixes() ([]netip.Prefix, error) {
	rs, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range rs {
		if r.Dst == nil {
			if r.Family == netlink.FAMILY_V6 {
				out = append(out, netip.MustParsePrefix("::/0"))
			} else {
				out = append(out, netip.MustParsePrefix("0.0.0.0/0"))
			}
			continue
		}
		a, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if p, err := a.Unmap().Prefix(ones); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}
