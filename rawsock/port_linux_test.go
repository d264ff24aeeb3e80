package rawsock

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

// TestCheckSourcePort: a port held by a listener or by an established
// connection is refused as bind(2) would refuse it, on the listener's
// address and on the wildcard; a free port passes. No privilege needed
// (ports ≥ 1024 on loopback).
func TestCheckSourcePort(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	lport := uint16(ln.Addr().(*net.TCPAddr).Port)
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cport := uint16(conn.LocalAddr().(*net.TCPAddr).Port)

	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fport := uint16(free.Addr().(*net.TCPAddr).Port)
	free.Close()

	for _, tc := range []struct {
		name  string
		src   netip.Addr
		port  uint16
		inUse bool
	}{
		{"listener", lo4, lport, true},
		{"listener, wildcard", netip.IPv4Unspecified(), lport, true},
		{"established", lo4, cport, true},
		{"established, wildcard", netip.IPv4Unspecified(), cport, true},
		{"free", lo4, fport, false},
		{"other family", netip.IPv6Unspecified(), cport, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSourcePort(tc.src, tc.port)
			if got := errors.Is(err, syscall.EADDRINUSE); got != tc.inUse {
				t.Errorf("CheckSourcePort(%s, %d) = %v, want in use: %v", tc.src, tc.port, err, tc.inUse)
			}
			if !tc.inUse && err != nil {
				t.Errorf("CheckSourcePort(%s, %d) = %v, want nil", tc.src, tc.port, err)
			}
		})
	}
}
