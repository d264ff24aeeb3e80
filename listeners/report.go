package listeners

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Schema names the JSON format of one sample.
const Schema = "tcpprobe-listeners/v1"

// SampleJSON is one sample as --json prints it (one object per line).
type SampleJSON struct {
	Schema    string            `json:"schema"`
	Time      time.Time         `json:"time"`
	Listeners []ListenerJSON    `json:"listeners"`
	Counters  map[string]uint64 `json:"counters"` // absolute, as nstat -a
	Delta     map[string]uint64 `json:"delta"`    // since the previous sample
}

// ListenerJSON is one listener in JSON.
type ListenerJSON struct {
	Address     string        `json:"address"`
	Port        uint16        `json:"port"`
	Inode       uint32        `json:"inode"`
	UID         uint32        `json:"uid"`
	AcceptQueue uint32        `json:"accept_queue"`
	Backlog     uint32        `json:"backlog"`
	SYNRecv     int           `json:"syn_recv"`
	SYNSources  int           `json:"syn_sources"`
	Processes   []ProcessJSON `json:"processes"`
	Flags       []string      `json:"flags"`
}

// ProcessJSON is one process holding a listener.
type ProcessJSON struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
}

// JSON converts s.
func (s *Sample) JSON() SampleJSON {
	out := SampleJSON{Schema: Schema, Time: s.Time, Listeners: []ListenerJSON{}, Counters: map[string]uint64{}, Delta: map[string]uint64{}}
	for _, name := range Counters {
		out.Counters[name] = s.Counters[name]
		out.Delta[name] = s.Delta[name]
	}
	for _, l := range s.Listeners {
		j := ListenerJSON{Address: l.Addr.Addr().String(), Port: l.Addr.Port(), Inode: l.Inode, UID: l.UID,
			AcceptQueue: l.AcceptQueue, Backlog: l.Backlog, SYNRecv: l.SYNRecv, SYNSources: l.SYNSources,
			Processes: []ProcessJSON{}, Flags: append([]string{}, l.Flags...)}
		for _, p := range l.Processes {
			j.Processes = append(j.Processes, ProcessJSON(p))
		}
		out.Listeners = append(out.Listeners, j)
	}
	return out
}

// WriteJSON writes s as one line of JSON.
func (s *Sample) WriteJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(s.JSON())
}

// WriteText writes s for people: a table of listeners, then the counters
// that moved.
func (s *Sample) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", s.Time.Format(time.RFC3339))
	fmt.Fprintf(&b, "%-40s %7s %7s %8s %7s  %-20s %s\n", "LISTEN", "ACCEPTQ", "BACKLOG", "SYN_RECV", "SOURCES", "PROCESS", "FLAGS")
	for _, l := range s.Listeners {
		var procs []string
		for _, p := range l.Processes {
			procs = append(procs, fmt.Sprintf("%s/%d", p.Name, p.PID))
		}
		proc := strings.Join(procs, ",")
		if proc == "" {
			proc = "-"
		}
		fmt.Fprintf(&b, "%-40s %7d %7d %8d %7d  %-20s %s\n", l.Addr, l.AcceptQueue, l.Backlog, l.SYNRecv, l.SYNSources, proc, strings.Join(l.Flags, ","))
	}
	b.WriteString("counters (since the previous sample, total):")
	for _, name := range Counters {
		fmt.Fprintf(&b, " %s=+%d/%d", strings.TrimPrefix(name, "TcpExt"), s.Delta[name], s.Counters[name])
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
