//go:build linux

package probe

import (
	"syscall"
	"testing"
)

// TestErrnoNamesEveryErrno: every errno connect(2) or bind(2) can return
// has its C name, not "errno N", and the name maps back.
func TestErrnoNamesEveryErrno(t *testing.T) {
	tests := []struct {
		e    syscall.Errno
		want string
	}{
		{syscall.ECONNREFUSED, "ECONNREFUSED"},
		{syscall.Errno(98), "EADDRINUSE"},
		{syscall.Errno(97), "EAFNOSUPPORT"},
		{syscall.EADDRNOTAVAIL, "EADDRNOTAVAIL"},
		{syscall.EALREADY, "EALREADY"},
		{syscall.EISCONN, "EISCONN"},
		{syscall.ENOBUFS, "ENOBUFS"},
		{syscall.EAGAIN, "EAGAIN"},
		{syscall.ENONET, "ENONET"},
		{syscall.ECONNRESET, "ECONNRESET"},
		{syscall.Errno(0), ""},
		{syscall.Errno(4000), "errno 4000"},
	}
	for _, tt := range tests {
		if got := ErrnoName(tt.e); got != tt.want {
			t.Errorf("ErrnoName(%d) = %q, want %q", int(tt.e), got, tt.want)
		}
		if tt.e == 0 || tt.want == "errno 4000" {
			continue
		}
		if back, ok := ErrnoByName(tt.want); !ok || back != tt.e {
			t.Errorf("ErrnoByName(%q) = %d, %v; want %d", tt.want, int(back), ok, int(tt.e))
		}
	}
	for e := syscall.Errno(1); e < 134; e++ {
		if e == 41 || e == 58 { // numbers Linux never assigned
			continue
		}
		if n := ErrnoName(e); len(n) < 2 || n[0] != 'E' {
			t.Errorf("ErrnoName(%d) = %q, want a C name", int(e), n)
		}
	}
}
