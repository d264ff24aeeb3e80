package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// encodeEntries are results of every shape AppendEntry must write exactly
// as encoding/json does.
func encodeEntries() []Entry {
	start := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	odd := time.FixedZone("odd", 5*3600+30*60+17) // offset with seconds
	a := netip.MustParseAddr("198.18.2.2")
	src := netip.MustParseAddr("198.18.1.2")
	sched := probe.Schedule{SYNs: []time.Duration{0, time.Second, 3 * time.Second}, GiveUp: 7 * time.Second}
	open := &probe.Result{Target: "198.18.2.2:80", Addr: a, Port: 80, Interface: "c0", Src: src, SrcPort: 40000,
		Profile: "linux", Schedule: sched, ICMP: probe.ICMPRFC1122, ISS: 0xFFFFFFFF, Outcome: probe.Open, Reason: probe.ReasonSYNACK,
		Responder: a, RTT: 1234567 * time.Nanosecond, Connect: 1001234567 * time.Nanosecond, AnsweredAttempt: 2, AnsweredBy: probe.AnsweredByTSecr, Teardown: true,
		SYNACK:   &probe.SYNACK{TTL: 63, Window: 65160, Options: wire.Options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 7, SACKPermitted: true, HasTimestamps: true}, ECE: true},
		Attempts: []time.Time{start, start.Add(time.Second)},
		Events: []probe.Event{
			{Time: start, Dir: probe.Sent, Flags: wire.SYN, Seq: 0xFFFFFFFF, Effect: probe.EffectProbe},
			{Time: start.Add(time.Second), Dir: probe.Sent, Flags: wire.SYN, Seq: 0xFFFFFFFF, Effect: probe.EffectProbe, Retransmit: true},
			{Time: start.Add(1001 * time.Millisecond), Dir: probe.Received, Flags: wire.SYN | wire.ACK, Seq: 7, Ack: 0, From: a, TTL: 63, Effect: probe.EffectDecided},
			{Time: start.Add(1001 * time.Millisecond), Dir: probe.Sent, Flags: wire.RST, Seq: 0, Effect: probe.EffectTeardown},
		},
		Started: start, Finished: start.Add(1001 * time.Millisecond)}
	refused := &probe.Result{Target: "h<&>\"\\\n\u2028é:1", Addr: a, Port: 1, Interface: "eth\x01", Src: src, SrcPort: 1,
		Profile: "classic", Schedule: sched, Outcome: probe.Refused, Errno: syscall.ECONNREFUSED, Reason: probe.ReasonRST,
		Responder: a, RTT: 3 * time.Nanosecond, Attempts: []time.Time{start},
		Events: []probe.Event{
			{Time: start, Dir: probe.Sent, Flags: wire.SYN, Seq: 5, Effect: probe.EffectProbe},
			{Time: start.Add(time.Microsecond), Dir: probe.Received, Flags: wire.RST | wire.ACK, Ack: 6, From: a, TTL: 1, Effect: probe.EffectIgnored, Why: probe.IgnoredBadACK},
			{Time: start.Add(2 * time.Microsecond), Dir: probe.Received, Flags: wire.RST | wire.ACK, Ack: 6, From: a, TTL: 64, Effect: probe.EffectDecided, Errno: syscall.ECONNREFUSED},
		},
		Ignored: 1, Started: start, Finished: start.Add(2 * time.Microsecond), Expect: "closed",
		IgnoredUnlisted: []probe.IgnoredCount{{Why: probe.IgnoredBadACK, Count: 3}, {Why: "tcp-checksum", Count: 1}}}
	v6 := netip.MustParseAddr("2001:db8::2")
	unreach := &probe.Result{Target: "[2001:db8::2]:443", Addr: v6, Port: 443, Interface: "c0", Src: netip.MustParseAddr("2001:db8::1"),
		Profile: "linux", Schedule: sched, ICMP: probe.ICMPSoft, Outcome: probe.Unreachable, Errno: syscall.EHOSTUNREACH,
		Reason: "icmp-host-unreachable", Soft: true, Responder: netip.MustParseAddr("2001:db8::ff"),
		Attempts: []time.Time{start.In(odd)},
		Events: []probe.Event{
			{Time: start, Dir: probe.Received, ICMP: true, ICMPType: 1, ICMPCode: 3, Reason: "icmp-host-unreachable", Errno: syscall.EHOSTUNREACH,
				Seq: 9, From: netip.MustParseAddr("2001:db8::ff"), TTL: 60, Effect: probe.EffectSoft},
			{Time: start, Dir: probe.Received, ICMP: true, ICMPType: 3, ICMPCode: 4, Seq: 9, Effect: probe.EffectPMTU},
			{Time: start, Dir: probe.Received, Flags: 0, Effect: probe.EffectIgnored, Why: probe.IgnoredNoFlags},
		},
		Started: start.In(odd), Finished: start.Add(7 * time.Second), Expect: "unreachable"}
	timeout := &probe.Result{Target: "x:9", Addr: netip.MustParseAddr("::ffff:198.18.2.9"), Port: 9, Outcome: probe.Timeout,
		Errno: syscall.ETIMEDOUT, Reason: probe.ReasonTimeout, Schedule: probe.Schedule{SYNs: []time.Duration{0, 1500 * time.Microsecond}, GiveUp: 10 * time.Hour},
		Started: start, Finished: start.Add(10 * time.Hour), Attempts: []time.Time{}}
	local := &probe.Result{Target: "fe80::1%eth\"0", Addr: netip.MustParseAddr("fe80::1%eth\"0"), Port: 1, Outcome: probe.LocalError,
		Errno: syscall.Errno(4095), Reason: probe.ReasonLocal, Started: time.Date(9999, 12, 31, 23, 59, 59, 999999999, odd)}
	interrupted := &probe.Result{Target: "i:1", Addr: a, Port: 1, Outcome: probe.Interrupted, Errno: syscall.EINTR,
		Reason: probe.ReasonInterrupted, Started: start.Add(-time.Hour), Finished: start}
	hard := &probe.Result{Target: "h:2", Addr: a, Port: 2, Outcome: probe.Unreachable, Errno: syscall.ENETUNREACH, RTT: time.Millisecond,
		Events: []probe.Event{{Time: start, Dir: probe.Received, ICMP: true, ICMPType: 3, ICMPCode: 0, Seq: 1, Effect: probe.EffectDecided,
			Errno: syscall.ENETUNREACH, Reason: "icmp-net-unreachable", From: a}}, Started: start, Finished: start}
	return []Entry{
		{Result: open}, {Result: open, Seq: 3, Mode: ModeConnect}, {Result: refused, Mode: ModeRaw},
		{Result: unreach, Seq: 1}, {Result: timeout}, {Result: local}, {Result: interrupted}, {Result: hard},
	}
}

func TestAppendEntryMatchesEncodingJSON(t *testing.T) {
	for i, e := range encodeEntries() {
		t.Run(e.Target, func(t *testing.T) {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(FromEntry(e)); err != nil {
				t.Fatalf("entry %d: encoding/json: %v", i, err)
			}
			got := AppendEntry(nil, e)
			if diff := cmp.Diff(want.String(), string(got)); diff != "" {
				t.Errorf("entry %d (-want +got):\n%s", i, diff)
			}
		})
	}
}

func TestAppendEntryAllocs(t *testing.T) {
	e := encodeEntries()[2]
	e.Target = "198.18.2.2:1"
	e.Interface = "c0"
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = AppendEntry(buf[:0], e) }); n != 0 {
		t.Errorf("AppendEntry allocates %.0f times per result, want 0", n)
	}
}

func BenchmarkNDJSONLine(b *testing.B) {
	e := encodeEntries()[2]
	e.Target = "198.18.2.2:1"
	b.Run("AppendEntry", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = AppendEntry(buf[:0], e)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		var w bytes.Buffer
		enc := json.NewEncoder(&w)
		for b.Loop() {
			w.Reset()
			_ = enc.Encode(FromEntry(e))
		}
	})
}

// TestAppendMsMatchesJSON checks appendMs against encoding/json's float
// formatting of ms(d), which the JSON document uses.
func TestAppendMsMatchesJSON(t *testing.T) {
	ds := []time.Duration{0, 1, 999, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
		time.Millisecond, 1500 * time.Microsecond, 75 * time.Second, -time.Microsecond, -1500 * time.Microsecond,
		-400, 123456789, time.Duration(1<<62 + 12345678), -time.Duration(1<<62 + 12345678)}
	rng := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < 20000; i++ {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		ds = append(ds, time.Duration(rng>>uint(i%60)))
	}
	for _, d := range ds {
		want, err := json.Marshal(ms(d))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendMs(nil, d); string(got) != string(want) {
			t.Fatalf("appendMs(%d) = %s, encoding/json writes %s", int64(d), got, want)
		}
	}
}

// TestJSONStreamMatchesEncoder: the streamed document is byte for byte
// what encoding/json's Encoder (indent "  ") writes for the whole
// Document, with or without results, summaries and stats.
func TestJSONStreamMatchesEncoder(t *testing.T) {
	entries := encodeEntries()
	sums := []Summary{{Target: "198.18.2.2:80", Address: "198.18.2.2", Port: 80, Sent: 2, Open: 1, LossPct: 50,
		Outcomes: map[string]int{"open": 1, "refused": 1}, Met: 1, RTT: &RTTStats{MinMs: 0.5, AvgMs: 0.5, MaxMs: 0.5}}}
	stats := &Stats{Unmatched: 3, Dropped: 1}
	tests := []struct {
		name    string
		entries []Entry
		sums    []Summary
		stats   *Stats
	}{
		{"empty", nil, nil, nil},
		{"empty with stats", nil, nil, stats},
		{"one", entries[:1], nil, nil},
		{"all", entries, nil, stats},
		{"all with summaries", entries, sums, stats},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := Document{Schema: Schema, Version: Version, Results: []*Result{}, Summaries: tt.sums, Stats: tt.stats}
			for _, e := range tt.entries {
				doc.Results = append(doc.Results, FromEntry(e))
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(&doc); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			w := NewJSON(&got)
			for _, e := range tt.entries {
				if err := w.Write(e); err != nil {
					t.Fatal(err)
				}
			}
			if tt.sums != nil {
				if err := w.Summarize(tt.sums); err != nil {
					t.Fatal(err)
				}
			}
			if tt.stats != nil {
				w.(StatsWriter).SetStats(*tt.stats)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("streamed document differs from encoding/json's (-want +got):\n%s", diff)
			}
		})
	}
}
