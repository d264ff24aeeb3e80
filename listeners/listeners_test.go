package listeners

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const netstatSample = `TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed ListenOverflows ListenDrops TCPReqQFullDoCookies TCPReqQFullDrop
TcpExt: 3 1 2 7 9 3 0
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
`

const snmpSample = `Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens
Tcp: 1 200 120000 -1 12
`

func TestParseSNMP(t *testing.T) {
	got := map[string]uint64{}
	if err := ParseSNMP(strings.NewReader(netstatSample), got); err != nil {
		t.Fatal(err)
	}
	if err := ParseSNMP(strings.NewReader(snmpSample), got); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"TcpExtSyncookiesSent": 3, "TcpExtSyncookiesRecv": 1, "TcpExtSyncookiesFailed": 2,
		"TcpExtListenOverflows": 7, "TcpExtListenDrops": 9, "TcpExtTCPReqQFullDoCookies": 3, "TcpExtTCPReqQFullDrop": 0,
		"IpExtInNoRoutes": 0, "IpExtInTruncatedPkts": 0,
		"TcpRtoAlgorithm": 1, "TcpRtoMin": 200, "TcpRtoMax": 120000, "TcpActiveOpens": 12, // MaxConn -1 skipped
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	for _, bad := range []string{
		"TcpExt: A B\n",                // names without values
		"TcpExt: A B\nTcpExt: 1\n",     // too few values
		"TcpExt: A\nIpExt: 1\n",        // another group's values
		"no colon here\nTcpExt: 1 2\n", // no group
	} {
		if err := ParseSNMP(strings.NewReader(bad), map[string]uint64{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseSNMP(f *testing.F) {
	f.Add(netstatSample)
	f.Add(snmpSample)
	f.Add("TcpExt: A\nTcpExt: 18446744073709551615\n")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[string]uint64{}
		if err := ParseSNMP(strings.NewReader(s), m); err != nil {
			return
		}
		for k := range m {
			if k == "" {
				t.Errorf("empty counter name from %q", s)
			}
		}
	})
}

func TestAssess(t *testing.T) {
	lst := func(addr string, q, backlog uint32, syn, src int) Listener {
		return Listener{Addr: netip.MustParseAddrPort(addr), AcceptQueue: q, Backlog: backlog, SYNRecv: syn, SYNSources: src}
	}
	tests := []struct {
		name     string
		prev     map[string]uint64 // nil: first sample
		cur      map[string]uint64
		l        Listener
		want     []string
		overflow uint64
	}{
		{"quiet", map[string]uint64{}, map[string]uint64{}, lst("0.0.0.0:80", 0, 128, 0, 0), []string{}, 0},
		{"queue full, overflows growing", map[string]uint64{"TcpExtListenOverflows": 5},
			map[string]uint64{"TcpExtListenOverflows": 8}, lst("198.18.2.2:7000", 2, 1, 0, 0), []string{FlagAcceptQueueFull}, 3},
		{"queue full, overflows still", map[string]uint64{"TcpExtListenOverflows": 8},
			map[string]uint64{"TcpExtListenOverflows": 8}, lst("198.18.2.2:7000", 2, 1, 0, 0), []string{}, 0},
		{"first sample counts since the start", nil,
			map[string]uint64{"TcpExtListenOverflows": 1}, lst("198.18.2.2:7000", 2, 1, 0, 0), []string{FlagAcceptQueueFull}, 1},
		{"many half-open from many sources", map[string]uint64{}, map[string]uint64{},
			lst("198.18.2.2:7001", 0, 128, 20, 20), []string{FlagSYNFlood}, 0},
		{"many half-open from one source", map[string]uint64{}, map[string]uint64{},
			lst("198.18.2.2:7001", 0, 128, 20, 1), []string{}, 0},
		{"SYN queue full, cookies sent", map[string]uint64{"TcpExtSyncookiesSent": 0},
			map[string]uint64{"TcpExtSyncookiesSent": 30}, lst("198.18.2.2:7001", 0, 4, 4, 4), []string{FlagSYNFlood}, 0},
		{"counter went backwards (namespace reset)", map[string]uint64{"TcpExtListenOverflows": 9},
			map[string]uint64{"TcpExtListenOverflows": 1}, lst("198.18.2.2:7000", 2, 1, 0, 0), []string{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prev *Sample
			if tc.prev != nil {
				prev = &Sample{Counters: tc.prev}
			}
			cur := &Sample{Counters: tc.cur, Listeners: []Listener{tc.l}}
			Assess(prev, cur, DefaultThresholds)
			got := append([]string{}, cur.Listeners[0].Flags...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("flags (-want +got)\n%s", diff)
			}
			if d := cur.Delta["TcpExtListenOverflows"]; d != tc.overflow {
				t.Errorf("overflow delta %d, want %d", d, tc.overflow)
			}
		})
	}
}

func TestSampleOutput(t *testing.T) {
	s := &Sample{Counters: map[string]uint64{"TcpExtListenOverflows": 4}, Listeners: []Listener{
		{Addr: netip.MustParseAddrPort("198.18.2.2:7000"), AcceptQueue: 2, Backlog: 1, Processes: []Process{{PID: 42, Name: "python3"}}},
		{Addr: netip.MustParseAddrPort("[fd00:2::2]:80"), Backlog: 4096, SYNRecv: 20, SYNSources: 20},
	}}
	Assess(nil, s, DefaultThresholds)
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"198.18.2.2:7000", "python3/42", FlagAcceptQueueFull, FlagSYNFlood, "ListenOverflows=+4/4"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	j := s.JSON()
	if j.Schema != Schema || len(j.Listeners) != 2 || j.Listeners[0].Address != "198.18.2.2" || j.Delta["TcpExtListenOverflows"] != 4 {
		t.Errorf("JSON %+v", j)
	}
	if len(j.Counters) != len(Counters) {
		t.Errorf("JSON counters %v, want every one of %v", j.Counters, Counters)
	}
}
