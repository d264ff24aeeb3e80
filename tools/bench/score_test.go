package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTCPProbe(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[int]State
		bad      bool
	}{
		{name: "ndjson", in: `{"port":80,"outcome":"open"}` + "\n" + `{"port":81,"outcome":"refused"}` + "\n" + `{"port":82,"outcome":"timeout"}` + "\n",
			want: map[int]State{80: Open, 81: Closed, 82: Other}},
		{name: "text", in: "198.18.2.2:80 open rtt=0.5ms from 198.18.2.2\n[fd00:2::2]:81 refused ECONNREFUSED (rst from fd00:2::2) rtt=1ms\nh:82 unreachable EHOSTUNREACH (x)\n",
			want: map[int]State{80: Open, 81: Closed, 82: Other}},
		{name: "not a result", in: "tcpprobe: warning\n", bad: true},
		{name: "port zero", in: "h:0 open\n", bad: true},
		{name: "bad json", in: "{\"port\":\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseTCPProbe(strings.NewReader(tt.in))
			checkStates(t, st, err, tt.bad, tt.want)
		})
	}
}

// checkStates fails t unless a parse failed when bad, or else read
// exactly want: every index read, and no other (one the output does not
// name stays Unknown, out of the map).
func checkStates(t *testing.T, st []State, err error, bad bool, want map[int]State) {
	t.Helper()
	if bad {
		if err == nil {
			t.Fatal("no error")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]State{}
	for i, s := range st {
		if s != Unknown {
			got[i] = s
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states (-want +got)\n%s", diff)
	}
}

// TestSendSpan: the span runs from the earliest first SYN to the latest,
// in whatever order the lines come; a result that sent nothing is not
// counted.
func TestSendSpan(t *testing.T) {
	in := `{"port":2,"attempts":[{"at_ms":0,"time":"2026-12-01T20:17:24.900000000Z"},{"at_ms":100,"time":"2026-12-01T20:17:25.000000000Z"}]}
{"port":1,"attempts":[{"at_ms":0,"time":"2026-12-01T20:17:24.500000000Z"}]}
{"port":3,"attempts":[]}
{"port":4,"attempts":[{"at_ms":0,"time":"2026-12-01T20:17:24.750000000Z"}]}
`
	n, span, err := SendSpan(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || span != 400*time.Millisecond {
		t.Errorf("SendSpan = %d probes over %v, want 3 over 400ms", n, span)
	}
	if _, _, err := SendSpan(strings.NewReader("not json\n")); err == nil {
		t.Error("a line that is not JSON: no error")
	}
}
