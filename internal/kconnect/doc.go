// Package kconnect probes targets with the kernel's own connect(2) instead
// of hand-built SYNs: a nonblocking connect, poll for completion, the errno
// from SO_ERROR, ETIMEDOUT at the profile's give-up time. It needs no
// privilege, so tcpprobe falls back to it when raw sockets are not allowed
// (--mode connect). Its results have the same outcomes and fields as the
// raw prober's, without the packet timeline: the kernel does not show it.
package kconnect
