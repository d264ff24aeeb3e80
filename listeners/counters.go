package listeners

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Counters are the listen-related counters of the namespace, as named by
// nstat(8) (prefix TcpExt from /proc/net/netstat).
var Counters = []string{
	"TcpExtListenOverflows",      // a full accept queue dropped a SYN or a final ACK
	"TcpExtListenDrops",          // any drop at a listener (overflows included)
	"TcpExtTCPReqQFullDrop",      // a full SYN queue dropped a SYN (no syncookies)
	"TcpExtTCPReqQFullDoCookies", // a full SYN queue answered with a syncookie
	"TcpExtSyncookiesSent",
	"TcpExtSyncookiesRecv",
	"TcpExtSyncookiesFailed",
}

// maxCounterLines bounds what ParseSNMP reads: the kernel's files have a
// few dozen lines.
const maxCounterLines = 512

// ParseSNMP parses the two-line-per-group format of /proc/net/netstat and
// /proc/net/snmp ("TcpExt: Name1 Name2 …" then "TcpExt: 1 2 …") into
// counters named as nstat names them: group + name ("TcpExtListenDrops").
// Values that are not unsigned integers (Tcp's MaxConn is -1) are skipped.
// A header line without its values line, or with a different number of
// fields, is an error.
func ParseSNMP(r io.Reader, into map[string]uint64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var header []string
	lines := 0
	for sc.Scan() {
		lines++
		if lines > maxCounterLines {
			return errors.New("listeners: counter file has too many lines")
		}
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		group, ok := strings.CutSuffix(f[0], ":")
		if !ok {
			return fmt.Errorf("listeners: counter line %d has no group prefix", lines)
		}
		if header == nil {
			header = f
			continue
		}
		if header[0] != f[0] || len(header) != len(f) {
			return fmt.Errorf("listeners: counter line %d (%s) does not match its header (%s, %d names)", lines, f[0], header[0], len(header)-1)
		}
		for i := 1; i < len(f); i++ {
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				continue
			}
			into[group+header[i]] = v
		}
		header = nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("listeners: reading counters: %w", err)
	}
	if header != nil {
		return fmt.Errorf("listeners: counter group %s has names but no values", header[0])
	}
	return nil
}
