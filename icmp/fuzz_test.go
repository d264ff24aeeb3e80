package icmp

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpprobe/tcpprobe/wire"

	"github.com/google/go-cmp/cmp"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzParse/seed-* from the golden messages")

// fuzzSeed is one FuzzParse input.
type fuzzSeed struct {
	name     string
	b        []byte
	v6       bool
	src, dst []byte
	verify   bool
}

// fuzzSeeds: every golden in both checksum modes, plus each golden offered
// to the other family's parser.
func fuzzSeeds() []fuzzSeed {
	var s []fuzzSeed
	for _, g := range goldens() {
		for _, verify := range []bool{true, false} {
			s = append(s, fuzzSeed{fmt.Sprintf("%s-verify-%v", g.name, verify), g.b, g.v6, g.src.AsSlice(), g.dst.AsSlice(), verify})
		}
		s = append(s, fuzzSeed{g.name + "-other-family", g.b, !g.v6, g.src.AsSlice(), g.dst.AsSlice(), true})
	}
	return s
}

// TestWriteFuzzSeeds keeps testdata/fuzz/FuzzParse in step with the
// goldens when run with -update-fuzz-seeds; otherwise it checks that the
// files are there.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	for _, s := range fuzzSeeds() {
		path := filepath.Join(dir, "seed-"+s.name)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n[]byte(%q)\n[]byte(%q)\nbool(%v)\n", s.b, s.v6, s.src, s.dst, s.verify)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("seed corpus file missing (run go test -run TestWriteFuzzSeeds -update-fuzz-seeds ./icmp): %v", err)
		}
		if string(got) != body {
			t.Errorf("%s is stale (run go test -run TestWriteFuzzSeeds -update-fuzz-seeds ./icmp)", path)
		}
	}
}

// FuzzParse checks that Parse never panics, returns only its documented
// errors, and that what it accepts is self-consistent: an accepted quote
// is TCP of the message's family and matches itself, an accepted checksum
// verifies under an independent RFC 1071 loop, turning verification off
// never changes the result of an accepted message, and the verdict
// functions return a reason for it.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.b, s.v6, s.src, s.dst, s.verify)
	}
	sentinels := []error{ErrNotError, ErrChecksum, ErrTruncated, ErrBadQuote, ErrNotTCP, ErrAddrFamily}
	f.Fuzz(func(t *testing.T, b []byte, v6 bool, srcB, dstB []byte, verify bool) {
		src, _ := netip.AddrFromSlice(srcB)
		dst, _ := netip.AddrFromSlice(dstB)
		var m Message
		err := Parse(b, v6, src, dst, verify, &m)
		if err != nil {
			known := false
			for _, s := range sentinels {
				known = known || err == s // Parse returns them unwrapped
			}
			if !known {
				t.Fatalf("Parse returned undocumented error %v", err)
			}
			_ = Linux(&m)
			_ = BSD44(&m)
			return
		}
		if m.V6 != v6 || !isError(m.Type, v6) {
			t.Fatalf("accepted V6=%v type %d for v6=%v", m.V6, m.Type, v6)
		}
		q := m.Quote
		if q.Protocol != wire.ProtocolTCP {
			t.Fatalf("accepted quote with protocol %d", q.Protocol)
		}
		if v6 && (!q.Src.Is6() || !q.Dst.Is6()) || !v6 && (!q.Src.Is4() || !q.Dst.Is4()) {
			t.Fatalf("accepted quote addresses %v → %v for v6=%v", q.Src, q.Dst, v6)
		}
		if !q.Matches(q.Src, q.Dst, q.SrcPort, q.DstPort, q.Seq) || q.Matches(q.Src, q.Dst, q.SrcPort, q.DstPort, q.Seq+1) {
			t.Fatalf("quote %+v does not match exactly itself", q)
		}
		if verify && binary.BigEndian.Uint16(b[2:]) != naiveChecksum(b, v6, src, dst) {
			// A sum of 0x0000 and 0xffff are the same one's-complement
			// value; accept either encoding of zero.
			if c := naiveChecksum(b, v6, src, dst); !(c == 0xffff && b[2] == 0 && b[3] == 0 || c == 0 && b[2] == 0xff && b[3] == 0xff) {
				t.Fatalf("accepted checksum %#04x, independent sum says %#04x", binary.BigEndian.Uint16(b[2:]), c)
			}
		}
		if verify {
			var m2 Message
			if err := Parse(b, v6, src, dst, false, &m2); err != nil {
				t.Fatalf("accepted with checksum, rejected without: %v", err)
			}
			if diff := cmp.Diff(m, m2, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Fatalf("checksum mode changed the result (-with +without):\n%s", diff)
			}
		}
		for name, fn := range map[string]func(*Message) Verdict{"Linux": Linux, "BSD44": BSD44} {
			v := fn(&m)
			if v.Reason == "" || v.Reason == "icmp-not-error" || v.Reason == "icmp6-not-error" {
				t.Fatalf("%s gave reason %q for accepted type %d/%d", name, v.Reason, m.Type, m.Code)
			}
		}
	})
}
