package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// SendSpan reads tcpprobe's NDJSON results and returns how many probes
// sent a first SYN and the time from the earliest first SYN to the latest:
// the sweep's send phase as the wire saw it (a ring link's send times are
// tcpdump's). It is the span to set beside the ceiling, which is timed
// over its send loop alone, without start-up, receiving or teardown.
func SendSpan(r io.Reader) (n int, span time.Duration, err error) {
	var first, last time.Time
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var res struct {
			Attempts []struct {
				Time time.Time `json:"time"`
			} `json:"attempts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return 0, 0, fmt.Errorf("a result line: %w", err)
		}
		if len(res.Attempts) == 0 || res.Attempts[0].Time.IsZero() {
			continue
		}
		t := res.Attempts[0].Time
		if n == 0 || t.Before(first) {
			first = t
		}
		if n == 0 || t.After(last) {
			last = t
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return n, last.Sub(first), nil
}
