package trace

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzClassify/seed-* from the goldens")

// TestFuzzSeeds keeps testdata/fuzz/FuzzClassify in step with the goldens
// when run with -update-fuzz-seeds; otherwise it checks they are there.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzClassify")
	for _, g := range goldens(t) {
		path := filepath.Join(dir, "seed-"+g.name)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", g.pkt, g.v6)
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
			t.Fatalf("seed corpus file missing (run go test -run TestFuzzSeeds -update-fuzz-seeds ./trace): %v", err)
		}
		if string(got) != body {
			t.Errorf("%s is stale: run go test -run TestFuzzSeeds -update-fuzz-seeds ./trace", path)
		}
	}
}

// FuzzClassify feeds classify any bytes as a received packet: it must
// never panic, and whatever it accepts must name one of the flow's queries.
func FuzzClassify(f *testing.F) {
	for _, g := range goldens(f) {
		f.Add(g.pkt, g.v6)
	}
	flows := map[bool]*flow{false: goldenFlow(f, false), true: goldenFlow(f, true)}
	f.Fuzz(func(t *testing.T, pkt []byte, v6 bool) {
		fl := flows[v6]
		for _, notReady := range []bool{false, true} {
			rep, err := classify(pkt, notReady, fl)
			if err != nil {
				continue
			}
			if _, ok := fl.sent[rep.seq]; !ok {
				t.Fatalf("accepted %+v for seq %d, which was never sent", rep, rep.seq)
			}
			if rep.kind == "" || !rep.from.IsValid() {
				t.Fatalf("accepted %+v without a kind or sender", rep)
			}
		}
	})
}
