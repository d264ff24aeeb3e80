//go:build !linux

package rawsock

import "net"

// ReplyInterfaces is not implemented on this GOOS.
func ReplyInterfaces() ([]net.Interface, error) { return nil, errNotImplemented }

// RP filter modes (see the Linux build).
const (
	RPFilterOff    = 0
	RPFilterStrict = 1
	RPFilterLoose  = 2
)

// RPFilter is RPFilterOff on this GOOS.
func RPFilter(ifname string) int { return RPFilterOff }
