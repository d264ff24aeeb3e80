package listeners

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TCP states of sock_diag (include/net/tcp_states.h).
const (
	stateSYNRecv = 3
	stateListen  = 10
)

// Snapshot reads every listening TCP socket of the current network
// namespace and its counters. Deltas and flags are Assess's job.
func Snapshot() (*Sample, error) {
	s := &Sample{Time: time.Now(), Counters: map[string]uint64{}}
	type key struct {
		addr netip.Addr
		port uint16
	}
	byKey := map[key]int{}
	type half struct {
		local  netip.AddrPort
		remote netip.Addr
	}
	var halves []half
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := netlink.SocketDiagTCP(fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, fmt.Errorf("listeners: sock_diag dump of TCP sockets: %w", err)
		}
		for _, so := range socks {
			src, _ := netip.AddrFromSlice(so.ID.Source)
			dst, _ := netip.AddrFromSlice(so.ID.Destination)
			src, dst = src.Unmap(), dst.Unmap()
			switch so.State {
			case stateListen:
				k := key{src, so.ID.SourcePort}
				if _, dup := byKey[k]; dup {
					continue
				}
				byKey[k] = len(s.Listeners)
				s.Listeners = append(s.Listeners, Listener{Addr: netip.AddrPortFrom(src, so.ID.SourcePort),
					Inode: so.INode, UID: so.UID, AcceptQueue: so.RQueue, Backlog: so.WQueue})
			case stateSYNRecv:
				halves = append(halves, half{netip.AddrPortFrom(src, so.ID.SourcePort), dst})
			}
		}
	}
	sources := make([]map[netip.Addr]bool, len(s.Listeners))
	for _, h := range halves {
		i, ok := byKey[key{h.local.Addr(), h.local.Port()}]
		if !ok {
			// A wildcard listener of either family takes it.
			if i, ok = byKey[key{netip.IPv4Unspecified(), h.local.Port()}]; !ok || !h.local.Addr().Is4() {
				i, ok = byKey[key{netip.IPv6Unspecified(), h.local.Port()}]
			}
		}
		if !ok {
			continue
		}
		s.Listeners[i].SYNRecv++
		if sources[i] == nil {
			sources[i] = map[netip.Addr]bool{}
		}
		sources[i][h.remote] = true
	}
	for i := range s.Listeners {
		s.Listeners[i].SYNSources = len(sources[i])
	}
	attachProcesses(s.Listeners)
	for _, f := range []string{"/proc/net/netstat", "/proc/net/snmp"} {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("listeners: %w", err)
		}
		err = ParseSNMP(fh, s.Counters)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("listeners: %s: %w", f, err)
		}
	}
	return s, nil
}

// attachProcesses finds, for each listener's inode, the processes whose
// file descriptors hold it (what ss -p does). Processes this user may not
// look into are skipped: "where visible".
func attachProcesses(ls []Listener) {
	want := map[string]int{}
	for i, l := range ls {
		if l.Inode != 0 {
			want["socket:["+strconv.FormatUint(uint64(l.Inode), 10)+"]"] = i
		}
	}
	if len(want) == 0 {
		return
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var name string
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue
			}
			i, ok := want[link]
			if !ok {
				continue
			}
			if name == "" {
				b, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
				name = strings.TrimSpace(string(b))
			}
			if !hasPID(ls[i].Processes, pid) {
				ls[i].Processes = append(ls[i].Processes, Process{PID: pid, Name: name})
			}
		}
	}
}

func hasPID(ps []Process, pid int) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}
