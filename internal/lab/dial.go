package lab

import (
	"context"
	"net"
)

// DialContext returns a dial function, for an http.Transport, whose
// connections are made inside namespace ns (their sockets belong to ns and
// work from any thread afterwards), so a test in the host namespace can
// talk to a server listening on 127.0.0.1 inside the lab.
func (l *Lab) DialContext(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := l.Do(ns, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
