package cli

import (
	"strings"
	"testing"
)

// TestTraceUsage: bad trace flags and arguments are usage errors (exit 2)
// found before anything is sent, with a line that says what to do.
func TestTraceUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trace"}, "accepts 1 arg"},
		{[]string{"trace", "198.18.2.2:80", "198.18.2.2:81"}, "accepts 1 arg"},
		{[]string{"trace", "--queries", "0", "198.18.2.2:80"}, "--queries 0"},
		{[]string{"trace", "--max-hops", "256", "198.18.2.2:80"}, "--max-hops 256"},
		{[]string{"trace", "--first-hop", "9", "--max-hops", "8", "198.18.2.2:80"}, "--first-hop 9"},
		{[]string{"trace", "--gap", "0", "198.18.2.2:80"}, "--gap 0"},
		{[]string{"trace", "--parallel", "0", "198.18.2.2:80"}, "--parallel 0"},
		{[]string{"trace", "--wait", "-1s", "198.18.2.2:80"}, "--wait -1s"},
		{[]string{"trace", "-4", "-6", "198.18.2.2:80"}, "-4 and -6"},
		{[]string{"trace", "--source", "nope", "198.18.2.2:80"}, "--source"},
		{[]string{"trace", "198.18.2.2"}, "198.18.2.2"},
		{[]string{"trace", "198.18.2.2:80", "--bogus"}, "unknown flag"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o := runCmd(t, Env{}, "", tc.args...)
			if o.code != ExitUsage || !strings.Contains(o.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", o.code, o.stderr, ExitUsage, tc.want)
			}
			if o.stdout != "" {
				t.Errorf("stdout %q, want nothing", o.stdout)
			}
		})
	}
}

// TestDiagnoseFlag: --diagnose and --trace-wait parse into the options.
func TestDiagnoseFlag(t *testing.T) {
	o := &Options{}
	cmd := newRootCmd(Streams{}, Env{}, o)
	if err := cmd.ParseFlags([]string{"--diagnose", "--trace-wait", "250ms"}); err != nil {
		t.Fatal(err)
	}
	if !o.Diagnose || o.TraceWait.String() != "250ms" {
		t.Errorf("Diagnose %v TraceWait %v, want true 250ms", o.Diagnose, o.TraceWait)
	}
}
