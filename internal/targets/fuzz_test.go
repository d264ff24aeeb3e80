package targets

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseLine: no line of a target file makes the parser panic, and a
// line it accepts yields a target with a host.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"198.18.2.2:80", "[fd00:2::2]:80,81 expect=open", "srv 443,ssh expect=refused # db",
		"fd00:2::2 80", "198.18.2.0/31 81", "198.18.2-3.1-5:http", "198.18.2.*:1-1024",
		"198.18.2.254-198.18.3.1:80", "[fe80::1%lo]:80", "fd00:2::/120:443", "[fd00::/127]",
		"", "# comment", ":80", "[", "[]:", "1-2-3.4.5.6:7", "a..b:1", "198.18.2.2:80 82 expect=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		sp, ok, err := ParseLine(line, svc, nil)
		if err != nil || !ok {
			return
		}
		if sp.Host == "" || (sp.name == "" && sp.set == nil) {
			t.Fatalf("%q: accepted without a host: %+v", line, sp)
		}
		if strings.ContainsAny(sp.name, " \t") {
			t.Fatalf("%q: name %q has blanks", line, sp.name)
		}
		n := 0
		if sp.set != nil && sp.set.count(nil).hi == 0 && sp.set.count(nil).lo < 1000 {
			sp.set.each(func(netip.Addr) bool { n++; return true })
			if uint64(n) != sp.set.count(nil).lo {
				t.Fatalf("%q: %d addresses iterated, count says %d", line, n, sp.set.count(nil).lo)
			}
		}
	})
}
