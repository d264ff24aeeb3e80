package privilege

import (
	"errors"
	"fmt"
)

// Options tune Drop. The zero value is what tcpprobe uses.
type Options struct {
	// Getenv reads SUDO_UID and SUDO_GID; nil means os.Getenv.
	Getenv func(string) string
	// Passwd is the passwd file in which to find "nobody"; "" means
	// /etc/passwd.
	Passwd string
}

// Nobody is the uid and gid used when neither sudo nor the passwd file
// names an unprivileged user (the traditional 65534).
const Nobody = 65534

// ErrThreads is returned when capabilities or no_new_privs cannot be
// applied to every thread: AllThreadsSyscall is not available in a binary
// linked with cgo. Build with CGO_ENABLED=0 (or -tags netgo,osusergo).
var ErrThreads = errors.New("privilege: cannot change every thread's capabilities in a binary linked with cgo: build it with CGO_ENABLED=0")

// State is what the process holds, over all its threads.
type State struct {
	Threads    int
	UIDs, GIDs [4]int // real, effective, saved, filesystem; the same on every thread, or Drop failed
	CapEff     uint64 // OR over the threads
	CapPrm     uint64
	CapAmb     uint64
	NoNewPrivs bool // set on every thread
}

// Unprivileged reports whether no thread holds a capability and no id is
// root.
func (s State) Unprivileged() bool {
	for i := range s.UIDs {
		if s.UIDs[i] == 0 || s.GIDs[i] == 0 {
			return false
		}
	}
	return s.CapEff == 0 && s.CapPrm == 0 && s.CapAmb == 0
}

func (s State) String() string {
	return fmt.Sprintf("uid %v gid %v CapEff %#x CapPrm %#x CapAmb %#x no_new_privs %v (%d threads)",
		s.UIDs, s.GIDs, s.CapEff, s.CapPrm, s.CapAmb, s.NoNewPrivs, s.Threads)
}
