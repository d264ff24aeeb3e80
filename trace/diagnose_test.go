package trace

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

func TestDiagnose(t *testing.T) {
	te := KindTimeExceeded
	none := []Query{q("", netip.Addr{})}
	reject := Query{Kind: KindUnreachable, From: hop2, Errno: syscall.EHOSTUNREACH, Reason: "icmp-admin-prohibited"}
	tests := []struct {
		name    string
		outcome probe.Outcome
		tr      *Result
		cause   string
		hop     int
		addr    string
	}{
		{"local", probe.LocalError, nil, probe.CauseLocal, 0, ""},
		{"rejected", probe.Unreachable, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{reject})},
			probe.CauseRejectedByHop, 2, "198.18.41.2"},
		{"rejected in the trace, silence for the probe", probe.Timeout, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{reject})},
			probe.CauseICMPRateLimited, 2, "198.18.41.2"},
		{"some queries unanswered at the rejecting hop", probe.Unreachable, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{reject, q("", netip.Addr{})})},
			probe.CauseICMPRateLimited, 2, "198.18.41.2"},
		{"refused", probe.Refused, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{q(KindRST, dst)})},
			probe.CauseRefused, 2, "198.18.44.2"},
		{"filtered", probe.Timeout, &Result{Hops: hops([]Query{q(te, hop1)}, none, none)},
			probe.CauseFilteredAfterHop, 1, "198.18.40.1"},
		{"destination silent", probe.Timeout, &Result{Hops: hops([]Query{q(te, hop1)}, none, none), DestinationHops: 2},
			probe.CauseDestinationSilent, 2, "198.18.44.2"},
		{"destination farther than the silence", probe.Timeout, &Result{Hops: hops([]Query{q(te, hop1)}, none, none), DestinationHops: 4},
			probe.CauseFilteredAfterHop, 1, "198.18.40.1"},
		{"nothing answers", probe.Timeout, &Result{Hops: hops(none, none)}, probe.CauseFilteredAfterHop, 0, ""},
		{"the probe's rejecting router silent for the trace", probe.Unreachable, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{q(te, hop2)}, none, none)},
			probe.CauseICMPRateLimited, 2, "198.18.41.2"},
		{"loop", probe.Timeout, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{q(te, hop2)}, []Query{q(te, hop1)}, []Query{q(te, hop2)})},
			probe.CauseMaxHops, 4, "198.18.41.2"},
		{"answered now", probe.Timeout, &Result{Hops: hops([]Query{q(te, hop1)}, []Query{q(KindSYNACK, dst)})},
			probe.CauseIntermittent, 2, "198.18.44.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tr != nil {
				tt.tr.Dst = dst
				decide(tt.tr)
			}
			res := &probe.Result{Outcome: tt.outcome, Addr: dst}
			if tt.outcome == probe.Unreachable {
				res.Responder, res.Reason = hop2, "icmp-admin-prohibited"
			}
			d := Diagnose(res, tt.tr)
			if d.Cause != tt.cause || d.Hop != tt.hop || d.Address != tt.addr || d.Summary == "" {
				t.Errorf("got %+v, want %s at hop %d (%q)", d, tt.cause, tt.hop, tt.addr)
			}
		})
	}
}

func TestDiagnoseOpen(t *testing.T) {
	one := &probe.Result{Outcome: probe.Open, Addr: dst, Attempts: make([]time.Time, 1)}
	two := &probe.Result{Outcome: probe.Open, Addr: dst, Attempts: make([]time.Time, 2)}
	if d := DiagnoseOpen(one, false); d != nil {
		t.Errorf("open on the first SYN: %+v, want nothing", d)
	}
	if d := DiagnoseOpen(two, false); d == nil || d.Cause != probe.CauseRetransmission {
		t.Errorf("open on the second SYN: %+v, want %s", d, probe.CauseRetransmission)
	}
	if d := DiagnoseOpen(one, true); d == nil || d.Cause != probe.CauseSYNCookie {
		t.Errorf("cookie: %+v, want %s", d, probe.CauseSYNCookie)
	}
}

func TestCookie(t *testing.T) {
	sent := probe.DefaultOptions()
	noTS := sent
	noTS.HasTimestamps = false
	full := wire.Options{HasMSS: true, MSS: 1460, HasTimestamps: true, SACKPermitted: true, HasWScale: true, WScale: 10}
	bare := wire.Options{HasMSS: true, MSS: 1460}
	odd := wire.Options{HasMSS: true, MSS: 1400, HasTimestamps: true}
	for _, c := range []struct {
		sent, synack wire.Options
		want         bool
	}{{sent, full, true}, {sent, odd, false}, {noTS, bare, true}, {noTS, full, false}, {wire.Options{}, bare, false}} {
		if got := CookieCandidate(c.sent, c.synack); got != c.want {
			t.Errorf("CookieCandidate(%+v, %+v) = %v, want %v", c.sent, c.synack, got, c.want)
		}
	}
	t0 := time.Unix(1000, 0)
	mk := func(tsvals ...uint32) *Result {
		var qs []Query
		for i, ts := range tsvals {
			o := full
			o.TSVal = ts
			qs = append(qs, Query{Kind: KindSYNACK, From: dst, Sent: t0.Add(time.Duration(i) * 10 * time.Millisecond), SYNACK: &o})
		}
		return &Result{Hops: []Hop{{TTL: 64, Queries: qs}}}
	}
	// A cookie's TSval keeps its low 6 bits (the options) and the per-flow
	// offset: equal within one 64 ms window, 64 apart across one.
	if !CookieConfirmed(mk(1000077, 1000077, 1000141), sent) {
		t.Error("TSvals equal mod 64 across sends 10 and 20 ms apart: want confirmed")
	}
	if CookieConfirmed(mk(1000077, 1000087, 1000097), sent) {
		t.Error("TSvals that move with the clock: want not confirmed")
	}
	if CookieConfirmed(mk(1000077), sent) {
		t.Error("one SYN-ACK: want not confirmed")
	}
}
