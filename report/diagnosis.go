package report

import (
	"fmt"
	"strconv"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Diagnosis is a result's --diagnose object in JSON.
type Diagnosis struct {
	Cause   string `json:"cause"`
	Hop     int    `json:"hop"`
	Address string `json:"address"`
	Summary string `json:"summary"`
	Trace   string `json:"trace,omitempty"`
}

func diagnosisJSON(d *probe.Diagnosis) *Diagnosis {
	if d == nil {
		return nil
	}
	return &Diagnosis{Cause: d.Cause, Hop: d.Hop, Address: d.Address, Summary: d.Summary, Trace: d.Trace}
}

// appendDiagnosis appends `,"diagnosis":{…}` as encoding/json writes it,
// or nothing when r has none.
func appendDiagnosis(b []byte, d *probe.Diagnosis) []byte {
	if d == nil {
		return b
	}
	b = append(b, `,"diagnosis":{"cause":`...)
	b = appendString(b, d.Cause)
	b = append(b, `,"hop":`...)
	b = strconv.AppendInt(b, int64(d.Hop), 10)
	b = append(b, `,"address":`...)
	b = appendString(b, d.Address)
	b = append(b, `,"summary":`...)
	b = appendString(b, d.Summary)
	if d.Trace != "" {
		b = append(b, `,"trace":`...)
		b = appendString(b, d.Trace)
	}
	return append(b, '}')
}

// appendDiagnosisLine appends the text line --diagnose adds under a result.
func appendDiagnosisLine(b []byte, d *probe.Diagnosis) []byte {
	if d == nil {
		return b
	}
	b = append(b, "    diagnosis: "...)
	b = append(b, d.Cause...)
	if d.Hop > 0 {
		b = fmt.Appendf(b, " at hop %d", d.Hop)
	}
	if d.Address != "" {
		b = fmt.Appendf(b, " (%s)", d.Address)
	}
	b = append(b, ": "...)
	b = append(b, d.Summary...)
	return append(b, '\n')
}
