package serve

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

func sysctls() (int, int, error) { return 6, 4, nil }

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
listen: [":9117", "[::1]:9118"]
targets: {allow: [198.18.0.0/15, "fd00::/8", 198.18.2.2]}
limits: {concurrency: 8, queue: 16, min_interval: 0s, timeout_offset: 1s}
modules:
  fast: {profile: linux, schedule: "0,1s/3s", icmp: soft, expect: closed, ip_protocol: ip6}
  cut: {profile: bsd, timeout: 10s, mode: connect}
`), sysctls)
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Allow                   []string
		Concurrency, Queue      int
		MinInterval, Offset     time.Duration
		Modules                 []string
		FastSchedule, CutSched  string
		FastICMP, FastExpect    string
		CutMode, DefaultProfile string
		FastIPProto             string
	}{
		prefixes(c.Allow), c.Concurrency, c.Queue, c.MinInterval, c.TimeoutOffset, c.ModuleNames(),
		c.Modules["fast"].Profile.Schedule.String(), c.Modules["cut"].Profile.Schedule.String(),
		c.Modules["fast"].Profile.ICMP.String(), c.Modules["fast"].Expect,
		c.Modules["cut"].Mode, c.Modules[DefaultModule].Profile.Name, c.Modules["fast"].IPProtocol,
	}
	want := got
	want.Allow = []string{"198.18.0.0/15", "fd00::/8", "198.18.2.2/32"}
	want.Concurrency, want.Queue, want.MinInterval, want.Offset = 8, 16, 0, time.Second
	want.Modules = []string{"cut", "default", "fast"}
	want.FastSchedule, want.CutSched = "0s,1s/3s", "0s,6s/10s"
	want.FastICMP, want.FastExpect, want.CutMode, want.DefaultProfile, want.FastIPProto = "soft", "closed", ModeConnect, probe.ProfileClassic, "ip6"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed config (-want +got):\n%s", diff)
	}

	empty, err := Parse(nil, sysctls)
	if err != nil {
		t.Fatalf("an empty file: %v", err)
	}
	if empty.Concurrency != DefaultConcurrency || empty.Queue != DefaultQueue || empty.MinInterval != DefaultMinInterval ||
		empty.TimeoutOffset != DefaultTimeoutOffset || len(empty.Modules) != 1 || len(empty.Allow) != 2 {
		t.Errorf("empty file: %+v, want every default", empty)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"targets: {allow: [198.18.0.0/33]}", "targets.allow"},
		{"targets: {allow: [198.18.0.1/15]}", "host bits"},
		{"targets: {allow: [example.com]}", "neither a CIDR"},
		{"limits: {concurrency: -1}", "negative"},
		{"limits: {min_interval: -1s}", "negative"},
		{"limits: {concurency: 4}", "concurency"},
		{"modules: {m: {profile: nope}}", `module "m"`},
		{"modules: {m: {schedule: '1s/2s'}}", "schedule"},
		{"modules: {m: {icmp: sometimes}}", "ICMP policy"},
		{"modules: {m: {expect: maybe}}", "expectation"},
		{"modules: {m: {mode: udp}}", "mode"},
		{"modules: {m: {ip_protocol: ip5}}", "ip_protocol"},
		{"modules: {m: {timeout: -1s}}", "timeout"},
		{"modules: [a, b]", "YAML"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.body), sysctls)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one that says %q", tc.body, err, tc.want)
		}
	}
}
