package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// JUnitSuites is the root of a JUnit XML report, in the shape CI systems
// (Jenkins, GitLab, GitHub Actions reporters) read.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is the run: one test case per probe.
type JUnitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr"`
	Props     []JUnitProperty `xml:"properties>property,omitempty"`
	Cases     []JUnitCase     `xml:"testcase"`
}

// JUnitProperty is a name and value attached to the suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one probe. It fails when its expectation was not met.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitFailure says which expectation a probe missed.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// NewJUnit returns a Writer that writes a JUnit XML report to w at Close.
func NewJUnit(w io.Writer) Writer { return &junitWriter{w: w} }

type junitWriter struct {
	w      io.Writer
	cases  []JUnitCase
	fail   int
	first  time.Time
	last   time.Time
	hasAny bool
}

func (j *junitWriter) Write(e Entry) error {
	r := e.Result
	name := r.Target
	if r.Addr.IsValid() && name != netipPort(r) {
		name += " (" + netipPort(r) + ")"
	}
	if e.Seq > 0 {
		name += fmt.Sprintf(" #%d", e.Seq)
	}
	want := r.Expect
	if want == "" {
		want = "open"
	}
	c := JUnitCase{
		Name:      name,
		Classname: "tcpprobe.expect-" + want,
		Time:      secs(r.Finished.Sub(r.Started)),
		SystemOut: Line(r),
	}
	if !Met(r) {
		j.fail++
		got := string(r.Outcome)
		if r.Errno != 0 {
			got += " " + probe.ErrnoName(r.Errno)
		}
		c.Failure = &JUnitFailure{
			Message: fmt.Sprintf("expected %s, got %s (%s)", want, got, r.Reason),
			Type:    string(r.Outcome),
			Text:    Line(r),
		}
	}
	j.cases = append(j.cases, c)
	if !j.hasAny || r.Started.Before(j.first) {
		j.first = r.Started
	}
	if !j.hasAny || r.Finished.After(j.last) {
		j.last = r.Finished
	}
	j.hasAny = true
	return nil
}

func (j *junitWriter) Summarize([]Summary) error { return nil }

func (j *junitWriter) Close() error {
	total := secs(j.last.Sub(j.first))
	ts := j.first
	if !j.hasAny {
		ts = time.Now()
	}
	doc := JUnitSuites{
		Name: "tcpprobe", Tests: len(j.cases), Failures: j.fail, Time: total,
		Suites: []JUnitSuite{{
			Name: "tcpprobe", Tests: len(j.cases), Failures: j.fail, Time: total,
			Timestamp: ts.UTC().Format("2006-01-02T15:04:05"),
			Props:     []JUnitProperty{{Name: "tool_version", Value: Version}, {Name: "schema", Value: Schema}},
			Cases:     j.cases,
		}},
	}
	if _, err := io.WriteString(j.w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(j.w)
	enc.Indent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	_, err := io.WriteString(j.w, "\n")
	return err
}

func secs(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.3f", d.Seconds())
}
