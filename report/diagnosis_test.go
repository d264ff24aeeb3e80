package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tcpprobe/tcpprobe/probe"
)

// TestDiagnosisEncoding: a result with a diagnosis is written by
// AppendEntry exactly as encoding/json writes FromEntry, and the text
// writer adds one line under it.
func TestDiagnosisEncoding(t *testing.T) {
	for _, e := range encodeEntries() {
		for _, d := range []*probe.Diagnosis{
			{Cause: probe.CauseRejectedByHop, Hop: 2, Address: "198.18.41.2", Summary: "198.18.41.2 (hop 2) rejects the SYN: \"admin\"-prohibited <EHOSTUNREACH>", Trace: "rejected by 198.18.41.2 (hop 2): admin-prohibited"},
			{Cause: probe.CauseRetransmission, Summary: "loss"},
		} {
			r := *e.Result
			r.Diagnosis = d
			e := Entry{Result: &r, Seq: e.Seq, Mode: e.Mode}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(FromEntry(e)); err != nil {
				t.Fatal(err)
			}
			if got := AppendEntry(nil, e); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("AppendEntry:\n%s\nencoding/json:\n%s", got, want.Bytes())
			}
			var text bytes.Buffer
			if err := NewText(&text, false).Write(e); err != nil {
				t.Fatal(err)
			}
			r.Diagnosis = nil
			var plain bytes.Buffer
			if err := NewText(&plain, false).Write(e); err != nil {
				t.Fatal(err)
			}
			r.Diagnosis = d
			extra, ok := strings.CutPrefix(text.String(), plain.String())
			if !ok || !strings.HasPrefix(extra, "    diagnosis: "+d.Cause) || !strings.HasSuffix(extra, d.Summary+"\n") || strings.Count(extra, "\n") != 1 {
				t.Errorf("text:\n%s\nwant the result's line and then one diagnosis line", text.String())
			}
		}
	}
}
