package bench

import (
	"strings"
	"testing"
)

func TestParseTCPProbe(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[int]State
		bad      bool
	}{
		{name: "ndjson", in: `{"port":80,"outcome":"open"}` + "\n" + `{"port":81,"outcome":"refused"}` + "\n" + `{"port":82,"outcome":"timeout"}` + "\n",
			want: map[int]State{80: Open, 81: Closed, 82: Other, 83: Unknown}},
		{name: "text", in: "198.18.2.2:80 open rtt=0.5ms from 198.18.2.2\n[fd00:2::2]:81 refused ECONNREFUSED (rst from fd00:2::2) rtt=1ms\nh:82 unreachable EHOSTUNREACH (x)\n",
			want: map[int]State{80: Open, 81: Closed, 82: Other, 83: Unknown}},
		{name: "not a result", in: "tcpprobe: warning\n", bad: true},
		{name: "port zero", in: "h:0 open\n", bad: true},
		{name: "bad json", in: "{\"port\":\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseTCPProbe(strings.NewReader(tt.in))
			if tt.bad {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range tt.want {
				if st[p] != want {
					t.Errorf("port %d: %s, want %s", p, st[p], want)
				}
			}
		})
	}
}
