package bench

import (
	"fmt"
	"net"
	"strconv"
)

// Listen listens on every port of addr and closes each accepted
// connection at once. It returns the listeners; close them to stop.
func Listen(addr string, ports []uint16) ([]net.Listener, error) {
	var lns []net.Listener
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(int(p))))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s port %d: %w", addr, p, err)
		}
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	return lns, nil
}
