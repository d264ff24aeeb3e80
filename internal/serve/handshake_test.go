package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

// handshakeRunner answers as lifecycle's Handshaker does: established,
// with the banner matched when the port is even.
type handshakeRunner struct {
	mod  *Module
	prof probe.Profile
}

func (h handshakeRunner) Run(_ context.Context, ts []probe.Target, emit func(*probe.Result)) error {
	for i, t := range ts {
		r := fakeResult(t, i)
		r.Outcome, r.Reason, r.Errno = probe.Open, probe.ReasonEstablished, 0
		hs := &probe.Handshake{Established: true, ConnectTime: time.Millisecond, BytesReceived: 12, FirstByte: 2 * time.Millisecond}
		if h.mod.Banner != nil {
			hs.BannerPattern, hs.BannerMatched = h.mod.Banner.String(), t.Addr.Port()%2 == 0
		}
		r.Life = &probe.Lifecycle{Mode: "handshake", Handshake: hs, Close: &probe.Close{Graceful: true}}
		emit(r)
	}
	return nil
}

func TestHandshakeModule(t *testing.T) {
	cfg := `keep_privileges: true
modules:
  ssh: {handshake: full, expect_banner: "^SSH-2\\.0-", close: rst, timeout: 3s}
`
	var got []handshakeRunner
	s, err := New(Options{ConfigPath: writeConfig(t, t.TempDir(), cfg), Raw: &fakeRunner{}, Logger: testLogger(t),
		Handshake: func(p probe.Profile, m *Module) Runner {
			h := handshakeRunner{mod: m, prof: p}
			got = append(got, h)
			return h
		}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	tests := []struct {
		port   string
		values map[string]float64
	}{
		{"22", map[string]float64{"probe_success": 1, "tcpprobe_banner_matched": 1, "tcpprobe_handshake_established": 1, "tcpprobe_close_graceful": 1, "tcpprobe_received_bytes": 12}},
		{"23", map[string]float64{"probe_success": 0, "tcpprobe_banner_matched": 0, "tcpprobe_handshake_established": 1, "tcpprobe_close_graceful": 1, "tcpprobe_received_bytes": 12}},
	}
	for _, tc := range tests {
		code, body := get(t, hs.Client(), hs.URL+"/probe?module=ssh&target=127.0.0.1:"+tc.port, nil)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		mfs := parseMetrics(t, body)
		gotv := map[string]float64{}
		for name := range tc.values {
			gotv[name], _ = value(mfs, name)
		}
		if diff := cmp.Diff(tc.values, gotv); diff != "" {
			t.Errorf("port %s (-want +got):\n%s", tc.port, diff)
		}
		if l := labels(mfs, "tcpprobe_result_info"); l["mode"] != ModeHandshake || l["reason"] != probe.ReasonEstablished {
			t.Errorf("port %s: labels %v, want mode handshake, reason established", tc.port, l)
		}
	}
	if len(got) != 2 || got[0].mod.File.Close != "rst" || got[0].prof.Schedule.GiveUp > 3*time.Second {
		t.Errorf("handshake runners made: %+v, want 2 with close rst and a schedule cut at 3s", got)
	}
}

func TestHandshakeNeedsPrivilege(t *testing.T) {
	_, err := Parse([]byte("modules:\n  ssh: {handshake: full}\n"), sysctls)
	if err == nil {
		t.Error("handshake: full without keep_privileges loaded")
	}
	for _, body := range []string{
		"keep_privileges: true\nmodules:\n  m: {expect_banner: x}\n",
		"keep_privileges: true\nmodules:\n  m: {handshake: full, mode: connect}\n",
		"keep_privileges: true\nmodules:\n  m: {handshake: full, close: later}\n",
		"keep_privileges: true\nmodules:\n  m: {handshake: full, expect_banner: '('}\n",
		"keep_privileges: true\nmodules:\n  m: {handshake: full, send: '@/etc/passwd'}\n",
		"keep_privileges: true\nmodules:\n  m: {handshake: half}\n",
	} {
		if _, err := Parse([]byte(body), sysctls); err == nil {
			t.Errorf("%q loaded", body)
		}
	}
	c, err := Parse([]byte("keep_privileges: true\nmodules:\n  m: {handshake: full, send: 'GET / HTTP/1.0\\r\\n\\r\\n'}\n"), sysctls)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.Modules["m"].Send); got != "GET / HTTP/1.0\r\n\r\n" {
		t.Errorf("send %q", got)
	}
}
