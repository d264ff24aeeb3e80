package cli

import (
	"fmt"
	"sync"

	"github.com/tcpprobe/tcpprobe/internal/kconnect"
	"github.com/tcpprobe/tcpprobe/probe"
)

// connectNotice tells once per run, on stderr, what of the profile the
// kernel's connect(2) cannot apply (its SYN offsets, ICMP policy, errno
// table): the results would otherwise claim a profile they did not follow.
// Rounds run concurrently: say is safe for concurrent use.
type connectNotice struct{ once sync.Once }

func (n *connectNotice) say(s Streams, cfg kconnect.Config) {
	n.once.Do(func() {
		if s.Err == nil {
			return
		}
		for _, m := range kconnect.Notices(cfg) {
			fmt.Fprintf(s.Err, "tcpprobe: notice: %s\n", m)
		}
	})
}

// kernelSchedule is this host's own connect(2) SYN schedule, from the
// sysctls the linux profile reads (env.Sysctls in tests).
func kernelSchedule(env Env) probe.Schedule {
	sysctls := env.Sysctls
	if sysctls == nil {
		sysctls = probe.HostSysctls
	}
	r, l, err := sysctls()
	if err != nil {
		return kconnect.HostSchedule()
	}
	return probe.LinuxSchedule(r, l)
}
