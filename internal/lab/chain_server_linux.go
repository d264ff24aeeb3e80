package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens ChainPortOpen on both servers (accepting and closing every
// connection) and ChainPortFullQueue on the server: backlog 1, never
// accepted.
func (c *Chain) listen() error {
	for _, ns := range []string{c.Server, c.Cookie} {
		err := c.ns.Do(ns, func() error {
			ln, err := net.Listen("tcp", ":"+strconv.Itoa(ChainPortOpen))
			if err != nil {
				return fmt.Errorf("listen on port %d in %s: %w", ChainPortOpen, ns, err)
			}
			c.listeners = append(c.listeners, ln)
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					conn.Close()
				}
			}()
			return nil
		})
		if err != nil {
			return err
		}
	}
	return c.ns.Do(c.Server, func() error {
		for _, k := range queueKeys() {
			port, v6 := k.port, k.v6
			fam, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Port: port})
			if v6 {
				fam, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: port}
			}
			fd, err := unix.Socket(fam, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socket for the full-queue listener: %w", err)
			}
			c.fds = append(c.fds, fd)
			c.queues[k] = fd
			if v6 {
				if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
					return fmt.Errorf("IPV6_V6ONLY on the full-queue listener: %w", err)
				}
			}
			if err := unix.Bind(fd, sa); err != nil {
				return fmt.Errorf("bind port %d: %w", port, err)
			}
			if err := unix.Listen(fd, 1); err != nil {
				return fmt.Errorf("listen on port %d: %w", port, err)
			}
		}
		return nil
	})
}

// queueKey names one backlog-1 listener.
type queueKey struct {
	port int
	v6   bool
}

func queueKeys() []queueKey {
	return []queueKey{{ChainPortFullQueue, false}, {ChainPortFullQueue, true},
		{ChainPortSlowQueue, false}, {ChainPortSlowQueue, true}}
}

// FillAcceptQueue connects from the client to port (ChainPortFullQueue or
// ChainPortSlowQueue) until the listener's accept queue (backlog 1) is
// full, so that the server drops every further SYN (ListenOverflows). The
// connections stay open until Close.
func (c *Chain) FillAcceptQueue(port int, v6 bool) error {
	dst := net.JoinHostPort(ChainServerV4.String(), strconv.Itoa(port))
	if v6 {
		dst = net.JoinHostPort(ChainServerV6.String(), strconv.Itoa(port))
	}
	return c.ns.Do(c.Client, func() error {
		// Backlog 1 holds two established connections (full is
		// "more than the backlog"); the third SYN is dropped.
		for i := range 2 {
			conn, err := net.DialTimeout("tcp", dst, 3*time.Second)
			if err != nil {
				return fmt.Errorf("filling the accept queue of %s (connection %d): %w", dst, i+1, err)
			}
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
		}
		return nil
	})
}

// AcceptOneAfter makes the ChainPortSlowQueue listener of one family
// accept one connection after d, which gives its full queue room for one
// more: a SYN retransmitted after that is answered.
func (c *Chain) AcceptOneAfter(v6 bool, d time.Duration) {
	c.mu.Lock()
	fd, ok := c.queues[queueKey{ChainPortSlowQueue, v6}]
	c.mu.Unlock()
	if !ok {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		time.Sleep(d)
		// The queue holds connections: accept returns at once.
		if nfd, _, err := unix.Accept(fd); err == nil {
			c.mu.Lock()
			c.fds = append(c.fds, nfd)
			c.mu.Unlock()
		}
	}()
}

// ECMPCounts returns the SYNs R2 forwarded on path a (to R3a) and path b (to
// R3b) for ChainPortECMP (paris) or ChainPortECMPVary, in one family.
func (c *Chain) ECMPCounts(tag string, v6 bool) (a, b int, err error) {
	fam := "ipv4"
	if v6 {
		fam = "ipv6"
	}
	for i, path := range []string{"a", "b"} {
		out, err := run("", false, "ip", "netns", "exec", c.name(roleR2),
			"nft", "-j", "list", "counter", "inet", "trace", tag+"_"+fam+"_"+path)
		if err != nil {
			return 0, 0, err
		}
		n, err := parseNamedCounter(out)
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			a = n
		} else {
			b = n
		}
	}
	return a, b, nil
}

// parseNamedCounter reads the packet count of `nft -j list counter`.
func parseNamedCounter(out []byte) (int, error) {
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Packets int `json:"packets"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return 0, fmt.Errorf("lab: nft counter output: %w", err)
	}
	for _, e := range doc.Nftables {
		if e.Counter != nil {
			return e.Counter.Packets, nil
		}
	}
	return 0, errors.New("lab: nft printed no counter")
}
