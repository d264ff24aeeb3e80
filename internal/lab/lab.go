package lab

import (
	"errors"
	"net"
	"os/exec"
	"sync"
	"time"
)

// Lab is one client — router — server namespace lab (the plan in the package doc). Its
// methods are safe for concurrent use.
type Lab struct {
	// Prefix is the common prefix of the lab's namespace names, "tpl-<pid>-<random>".
	Prefix string
	// Client, Router and Server are the namespace names (Prefix + "-c", "-r", "-s").
	Client, Router, Server string
	// BuildTime is how long New took to build the lab.
	BuildTime time.Duration

	mu        sync.Mutex
	cmds      []*exec.Cmd    // started by Command; killed on cleanup
	listeners []net.Listener // server listeners; closed on cleanup
	delay     *delayer       // TUN delayer in the router
	wg        sync.WaitGroup // accept loops and delayer goroutines
}

// Packet is one line tcpdump printed, with the capture time it printed (-tt).
type Packet struct {
	// Time is the packet's capture time.
	Time time.Time
	// Line is the whole line tcpdump printed, timestamp included.
	Line string
}

// ErrGaveUp is returned by (*Lab).KernelConnect when connect() was still in progress
// when the caller's timeout ran out: the caller gave up, the kernel did not time out
// (that would be errno ETIMEDOUT with a nil error).
var ErrGaveUp = errors.New("lab: connect() still in progress when the timeout ran out (gave up; not the kernel's ETIMEDOUT)")

// ErrNoVerdict is returned (wrapped) by (*Lab).KernelConnect when poll
// said the socket was ready but it had neither an error nor a peer, three
// times running: the measurement, not the kernel's verdict, failed (seen
// twice in CI runs on ICMP-rejected ports: revents POLLERR, SO_ERROR 0).
var ErrNoVerdict = errors.New("lab: connect() ended with no verdict to read")

// Kinds of lab, the first part of their namespace names (Build).
const (
	KindTest     = "tpl" // built for a test (labtest.New)
	KindSelftest = "tps" // built by tcpprobe selftest
)

// SkipNotRoot is what a test says when it skips for lack of privilege.
const SkipNotRoot = "lab tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN) to create network namespaces; run as root, e.g. sudo go test ./..."
