package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/docs/schema"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// lifeResults are a --handshake full and a --scan ack result.
func lifeResults() []*probe.Result {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, src := netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.1.2")
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	hs := &probe.Result{Target: "198.18.2.2:7001", Addr: a, Port: 7001, Interface: "c0", Src: src, SrcPort: 61000,
		Profile: "classic", Outcome: probe.Open, Reason: probe.ReasonEstablished, Responder: a, RTT: time.Millisecond,
		Started: start, Finished: at(1500),
		Life: &probe.Lifecycle{Mode: "handshake",
			Segments: []probe.Segment{
				{Time: at(0), Dir: probe.Sent, Flags: wire.SYN, Seq: 1},
				{Time: at(1), Dir: probe.Received, Flags: wire.SYN | wire.ACK, Seq: 9, Ack: 2, Window: 65535},
				{Time: at(1), Dir: probe.Sent, Flags: wire.ACK, Seq: 2, Ack: 10, Note: "final-ack"},
				{Time: at(5), Dir: probe.Sent, Flags: wire.FIN | wire.ACK, Seq: 2, Ack: 10, Note: "fin"},
			},
			Handshake: &probe.Handshake{Established: true, ConnectTime: time.Millisecond, BytesSent: 4, BytesReceived: 7,
				FirstByte: 2 * time.Millisecond, BannerPattern: "<h>", BannerMatched: true, Banner: []byte("<h>&\x00\xff"),
				Err: syscall.ECONNRESET},
			Close: &probe.Close{Requested: "fin", FirstFIN: probe.Client, ClientFIN: at(5), ServerFIN: at(6), ServerACKOfFIN: at(6),
				Graceful: true, TimeWait: probe.Client, TimeWaitFor: 60 * time.Second, TimeWaitSeen: "TIME-WAIT", TimeWaitLeft: 59 * time.Second,
				Duration: time.Millisecond},
		}}
	ack := &probe.Result{Target: "198.18.2.2:87", Addr: a, Port: 87, Interface: "c0", Src: src, SrcPort: 61001,
		Profile: "classic", Outcome: probe.Filtered, Errno: syscall.ETIMEDOUT, Reason: probe.ReasonTimeout, Expect: "filtered",
		Attempts: []time.Time{start}, Events: []probe.Event{{Time: start, Dir: probe.Sent, Flags: wire.ACK, Seq: 5, Ack: 6, Effect: probe.EffectProbe}},
		Started: start, Finished: at(1000), Life: &probe.Lifecycle{Mode: "ack-scan"}}
	return []*probe.Result{hs, ack}
}

func TestLifecycleJSON(t *testing.T) {
	for _, r := range lifeResults() {
		e := Entry{Result: r}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(FromEntry(e)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.String(), string(AppendEntry(nil, e))); diff != "" {
			t.Errorf("%s: AppendEntry differs from encoding/json (-want +got):\n%s", r.Target, diff)
		}
		if err := schema.Validate(want.Bytes()); err != nil {
			t.Errorf("%s: %v\n%s", r.Target, err, want.String())
		}
		var back Result
		if err := json.Unmarshal(want.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if back.Lifecycle == nil || back.Life != r.Life.Mode {
			t.Errorf("%s: life %+v after a round trip", r.Target, back.Lifecycle)
		}
	}
	hs := FromProbe(lifeResults()[0])
	if c := hs.Close; c.TimeWaitMs != 60000 || c.FirstFIN != "client" || *c.ServerFINMs != 6 || hs.Handshake.Error != "ECONNRESET" {
		t.Errorf("close %+v, handshake %+v", *c, *hs.Handshake)
	}
}

func TestLifecycleText(t *testing.T) {
	var b bytes.Buffer
	w := NewText(&b, true)
	for _, r := range lifeResults() {
		if err := w.Write(Entry{Result: r}); err != nil {
			t.Fatal(err)
		}
	}
	out := b.String()
	for _, want := range []string{
		"→ FIN|ACK seq=2 ack=10 len=0 win=0 (fin)",
		`banner "<h>" matched=true`,
		"close (fin): first FIN from client, graceful, TIME_WAIT kept by the client for 1m0s (local socket TIME-WAIT, 59000ms left)",
		"198.18.2.2:87 filtered ETIMEDOUT (no answer to the ACK) [expect filtered: ok]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}
