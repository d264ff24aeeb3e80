package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// State is how a tool classified one port.
type State uint8

// Port states a tool can report.
const (
	Unknown State = iota // not reported
	Open
	Closed // refused: RST
	Other  // anything else (filtered, timeout, unreachable)
)

// Score compares states (index = port) with the truth: ports in open are
// open, every other port of 1..maxPort is closed. It returns how many ports
// were classified right and up to ten examples of wrong ones.
func Score(states []State, open map[uint16]bool, maxPort int) (right int, wrong []string) {
	for p := 1; p <= maxPort; p++ {
		want := Closed
		if open[uint16(p)] {
			want = Open
		}
		got := Unknown
		if p < len(states) {
			got = states[p]
		}
		if got == want {
			right++
		} else if len(wrong) < 10 {
			wrong = append(wrong, fmt.Sprintf("%d: got %s, want %s", p, got, want))
		}
	}
	return right, wrong
}

func (s State) String() string {
	return [...]string{"unreported", "open", "closed", "other"}[s]
}

// ParseTCPProbe reads tcpprobe output: --ndjson objects, or the default
// text lines "HOST:PORT OUTCOME ...".
func ParseTCPProbe(r io.Reader) ([]State, error) {
	st := make([]State, 65536)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var res struct {
			Port    uint16 `json:"port"`
			Outcome string `json:"outcome"`
		}
		line := sc.Bytes()
		if len(line) > 0 && line[0] == '{' {
			if err := json.Unmarshal(line, &res); err != nil {
				return nil, fmt.Errorf("tcpprobe output: %v", err)
			}
		} else {
			f := strings.Fields(string(line))
			if len(f) < 2 {
				return nil, fmt.Errorf("tcpprobe output: %q is not a result line", line)
			}
			i := strings.LastIndexByte(f[0], ':')
			p, err := strconv.ParseUint(f[0][i+1:], 10, 16)
			if i < 0 || err != nil || p == 0 {
				return nil, fmt.Errorf("tcpprobe output: %q does not start with HOST:PORT", line)
			}
			res.Port, res.Outcome = uint16(p), f[1]
		}
		st[res.Port] = tcpprobeState(res.Outcome)
	}
	return st, sc.Err()
}

// ParseNmap reads nmap -oG output: listed ports have their own state, the
// rest take the "Ignored State".
func ParseNmap(r io.Reader) ([]State, error) {
	st := make([]State, 65536)
	def := Unknown
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	ign := regexp.MustCompile(`Ignored State: (\w+)`)
	for sc.Scan() {
		line := sc.Text()
		if m := ign.FindStringSubmatch(line); m != nil {
			def = nmapState(m[1])
		}
		_, ports, ok := strings.Cut(line, "Ports: ")
		if !ok {
			continue
		}
		ports, _, _ = strings.Cut(ports, "\t")
		for _, f := range strings.Split(ports, ",") {
			parts := strings.Split(strings.TrimSpace(f), "/")
			if len(parts) < 2 {
				continue
			}
			p, err := strconv.Atoi(parts[0])
			if err != nil || p < 1 || p > 65535 {
				continue
			}
			st[p] = nmapState(parts[1])
		}
	}
	for p := 1; p < len(st); p++ {
		if st[p] == Unknown {
			st[p] = def
		}
	}
	return st, sc.Err()
}

// tcpprobeState is what a tcpprobe outcome says of a port.
func tcpprobeState(outcome string) State {
	switch outcome {
	case "open":
		return Open
	case "refused":
		return Closed
	}
	return Other
}

func nmapState(s string) State {
	switch s {
	case "open":
		return Open
	case "closed":
		return Closed
	}
	return Other
}

// ParseMasscan reads masscan -oL output run with --show closed: lines
// "open tcp 80 198.18.2.2 ts" and "closed tcp 81 ...".
func ParseMasscan(r io.Reader) ([]State, error) {
	st := make([]State, 65536)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[1] != "tcp" {
			continue
		}
		p, err := strconv.Atoi(f[2])
		if err != nil || p < 1 || p > 65535 {
			continue
		}
		s := nmapState(f[0])
		if st[p] != Open { // a port seen open once is open
			st[p] = s
		}
	}
	return st, sc.Err()
}
