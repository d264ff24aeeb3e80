package bench

import (
	"strings"
	"testing"

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
