package targets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeResolver answers from a table.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		if network == "ip" || (network == "ip4") == a.Is4() {
			out = append(out, a)
		}
	}
	return out, nil
}

var names = fakeResolver{
	"mixed": {netip.MustParseAddr("198.18.32.2"), netip.MustParseAddr("fd00:32::2"), netip.MustParseAddr("198.18.32.3")},
	"srv":   {netip.MustParseAddr("198.18.20.2")},
	"v6":    {netip.MustParseAddr("fd00:2::2")},
}

// svc is a fixed services table, so the tests do not depend on the
// host's /etc/services.
var svc = Services{"ssh": 22, "http": 80, "https": 443, "http-alt": 8080}

// file is a Source over text.
func file(name, text string) Source {
	return Source{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }}
}

type input struct {
	args    []string
	opt     Options
	files   []Source
	exclude []string
	exFiles []Source
}

func plan(t *testing.T, in input) (*Plan, error) {
	t.Helper()
	opt := in.opt
	opt.Resolver, opt.Services = names, svc
	return NewPlan(context.Background(), opt, in.args, in.files, in.exclude, in.exFiles)
}

// expand lists every target as "NAME ADDR:PORT [expect]".
func expand(t *testing.T, p *Plan) []string {
	t.Helper()
	var out []string
	for tg, err := range p.All() {
		if err != nil {
			t.Fatal(err)
		}
		s := tg.Name + " " + tg.Addr.String()
		if tg.Expect != "" {
			s += " " + tg.Expect
		}
		out = append(out, s)
	}
	return out
}

func seq(format string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strings.ReplaceAll(format, "%d", fmt.Sprint(i)))
	}
	return out
}

func TestExpand(t *testing.T) {
	p80 := Options{Ports: []uint16{80}}
	tests := []struct {
		name string
		in   input
		want []string
	}{
		{"address:port", input{args: []string{"198.18.2.2:80"}}, []string{"198.18.2.2:80 198.18.2.2:80"}},
		{"ipv6 in brackets, port list", input{args: []string{"[fd00:2::2]:80,81"}}, []string{"[fd00:2::2]:80 [fd00:2::2]:80", "[fd00:2::2]:81 [fd00:2::2]:81"}},
		{"-p on a bare ipv6", input{args: []string{"fd00:2::2"}, opt: p80}, []string{"[fd00:2::2]:80 [fd00:2::2]:80"}},
		{"port names", input{args: []string{"198.18.2.2:ssh,https", "srv:http-alt"}}, []string{
			"198.18.2.2:22 198.18.2.2:22", "198.18.2.2:443 198.18.2.2:443", "srv:8080 198.18.20.2:8080"}},
		{"-p names", input{args: []string{"198.18.2.2"}, opt: Options{Ports: mustPorts("ssh,https")}}, []string{
			"198.18.2.2:22 198.18.2.2:22", "198.18.2.2:443 198.18.2.2:443"}},
		{"ipv4 /30, network and broadcast included", input{args: []string{"198.18.20.0/30:80"}}, []string{
			"198.18.20.0:80 198.18.20.0:80", "198.18.20.1:80 198.18.20.1:80", "198.18.20.2:80 198.18.20.2:80", "198.18.20.3:80 198.18.20.3:80"}},
		{"prefix with host bits", input{args: []string{"198.18.20.5/31"}, opt: p80}, []string{"198.18.20.4:80 198.18.20.4:80", "198.18.20.5:80 198.18.20.5:80"}},
		{"ipv4 /32", input{args: []string{"198.18.20.9/32:80"}}, []string{"198.18.20.9:80 198.18.20.9:80"}},
		{"ipv6 /127 in brackets", input{args: []string{"[fd00:2::/127]:80"}}, []string{"[fd00:2::]:80 [fd00:2::]:80", "[fd00:2::1]:80 [fd00:2::1]:80"}},
		{"ipv6 prefix:port", input{args: []string{"fd00:2::/127:443"}}, []string{"[fd00:2::]:443 [fd00:2::]:443", "[fd00:2::1]:443 [fd00:2::1]:443"}},
		{"ipv6 prefix with -p, ports inner", input{args: []string{"fd00:2::fe/127"}, opt: Options{Ports: []uint16{80, 81}}}, []string{
			"[fd00:2::fe]:80 [fd00:2::fe]:80", "[fd00:2::fe]:81 [fd00:2::fe]:81", "[fd00:2::ff]:80 [fd00:2::ff]:80", "[fd00:2::ff]:81 [fd00:2::ff]:81"}},
		{"last-octet range", input{args: []string{"198.18.2.1-3:80"}}, []string{"198.18.2.1:80 198.18.2.1:80", "198.18.2.2:80 198.18.2.2:80", "198.18.2.3:80 198.18.2.3:80"}},
		{"octet ranges", input{args: []string{"198.18.2-3.1-2"}, opt: p80}, []string{
			"198.18.2.1:80 198.18.2.1:80", "198.18.2.2:80 198.18.2.2:80", "198.18.3.1:80 198.18.3.1:80", "198.18.3.2:80 198.18.3.2:80"}},
		{"full range across an octet", input{args: []string{"198.18.2.254-198.18.3.1:80"}}, []string{
			"198.18.2.254:80 198.18.2.254:80", "198.18.2.255:80 198.18.2.255:80", "198.18.3.0:80 198.18.3.0:80", "198.18.3.1:80 198.18.3.1:80"}},
		{"star octet", input{args: []string{"198.18.2.*:80"}}, seq("198.18.2.%d:80 198.18.2.%d:80", 0, 255)},
		{"name: first address, IPv4 first", input{args: []string{"mixed:80"}}, []string{"mixed:80 198.18.32.2:80"}},
		{"name, --all-addresses", input{args: []string{"mixed:80"}, opt: Options{AllAddresses: true}}, []string{
			"mixed:80 198.18.32.2:80", "mixed:80 [fd00:32::2]:80", "mixed:80 198.18.32.3:80"}},
		{"name, -6", input{args: []string{"mixed:80"}, opt: Options{Family: "ip6"}}, []string{"mixed:80 [fd00:32::2]:80"}},
		{"zone", input{args: []string{"[fe80::1%lo]:80"}}, []string{"[fe80::1%lo]:80 [fe80::1%lo]:80"}},
		{"zone by index", input{args: []string{"[fe80::1%1]:80"}}, []string{"[fe80::1%1]:80 [fe80::1%lo]:80"}},
		{"a destination named twice is probed twice", input{args: []string{"srv:80", "198.18.20.2:80"}}, []string{
			"srv:80 198.18.20.2:80", "198.18.20.2:80 198.18.20.2:80"}},
		{"--expect", input{args: []string{"198.18.2.2:80"}, opt: Options{Expect: "closed"}}, []string{"198.18.2.2:80 198.18.2.2:80 closed"}},
		{"file: host:port, host port, expect", input{files: []Source{file("t.txt", "# map\n198.18.2.2:80 expect=open\n\nsrv 443,ssh expect=refused # db\nfd00:2::2 80\n198.18.2.0/31 81\n")}}, []string{
			"198.18.2.2:80 198.18.2.2:80 open", "srv:443 198.18.20.2:443 refused", "srv:22 198.18.20.2:22 refused",
			"[fd00:2::2]:80 [fd00:2::2]:80", "198.18.2.0:81 198.18.2.0:81", "198.18.2.1:81 198.18.2.1:81"}},
		{"file line expect over --expect", input{files: []Source{file("t.txt", "198.18.2.2:80 expect=open\n198.18.2.2:81\n")}, opt: Options{Expect: "closed"}}, []string{
			"198.18.2.2:80 198.18.2.2:80 open", "198.18.2.2:81 198.18.2.2:81 closed"}},
		{"arguments before files", input{args: []string{"198.18.2.9:1"}, files: []Source{file("a", "198.18.2.2:80\n"), file("b", "198.18.2.3:80\n")}}, []string{
			"198.18.2.9:1 198.18.2.9:1", "198.18.2.2:80 198.18.2.2:80", "198.18.2.3:80 198.18.2.3:80"}},
		{"--exclude an address and a prefix", input{args: []string{"198.18.20.0/29:80"}, exclude: []string{"198.18.20.1,198.18.20.4/30"}}, []string{
			"198.18.20.0:80 198.18.20.0:80", "198.18.20.2:80 198.18.20.2:80", "198.18.20.3:80 198.18.20.3:80"}},
		{"--exclude an address on a port", input{args: []string{"198.18.20.0/31"}, opt: Options{Ports: []uint16{80, 81}}, exclude: []string{"198.18.20.1:81"}}, []string{
			"198.18.20.0:80 198.18.20.0:80", "198.18.20.0:81 198.18.20.0:81", "198.18.20.1:80 198.18.20.1:80"}},
		{"--exclude a range on a port", input{args: []string{"198.18.20.0/31"}, opt: Options{Ports: []uint16{80, 81}}, exclude: []string{"198.18.20.0-1:80"}}, []string{
			"198.18.20.0:81 198.18.20.0:81", "198.18.20.1:81 198.18.20.1:81"}},
		{"--exclude a name", input{args: []string{"198.18.32.0/30:80"}, exclude: []string{"mixed"}}, []string{
			"198.18.32.0:80 198.18.32.0:80", "198.18.32.1:80 198.18.32.1:80"}},
		{"--exclude-file", input{args: []string{"[fd00:2::/126]:80"}, exFiles: []Source{file("ex", "# keep out\nfd00:2::1\n[fd00:2::2/127]\n")}}, []string{"[fd00:2::]:80 [fd00:2::]:80"}},
		{"--exclude everything", input{args: []string{"198.18.2.2:80"}, exclude: []string{"198.18.0.0/15"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := expand(t, p)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if p.Total() != int64(len(got)) && !(strings.Contains(tt.name, "on a port") && p.Total() > int64(len(got))) {
				t.Errorf("Total() = %d, want %d", p.Total(), len(got))
			}
		})
	}
}

func mustPorts(s string) []uint16 {
	p, err := ParsePorts(s, svc)
	if err != nil {
		panic(err)
	}
	return p
}

// TestErrors checks each message's exact text.
func TestErrors(t *testing.T) {
	p80 := Options{Ports: []uint16{80}}
	tests := []struct {
		name string
		in   input
		want string
	}{
		{"bad port", input{args: []string{"198.18.2.2:99999"}}, `target "198.18.2.2:99999": bad port "99999": want a number from 1 to 65535 or a service name such as https`},
		{"port zero", input{args: []string{"198.18.2.2:0"}}, `target "198.18.2.2:0": bad port "0": want a number from 1 to 65535 or a service name such as https`},
		{"unknown service", input{args: []string{"198.18.2.2:gopherx"}}, `target "198.18.2.2:gopherx": unknown service "gopherx": not in /etc/services or the built-in table; give its port number`},
		{"backwards port range", input{args: []string{"198.18.2.2:90-80"}}, `target "198.18.2.2:90-80": port range "90-80" runs backwards`},
		{"empty port entry", input{args: []string{"198.18.2.2:80,,81"}}, `target "198.18.2.2:80,,81": port list "80,,81" has an empty entry`},
		{"colon without port", input{args: []string{"198.18.2.2:"}}, `target "198.18.2.2:": no port after ':'`},
		{"no port", input{args: []string{"198.18.2.2"}}, `target "198.18.2.2" has no port: write HOST:PORT or give -p PORTS`},
		{"no port in brackets", input{args: []string{"[fd00::1]"}}, `target "[fd00::1]" has no port: write [ADDR]:PORT or give -p PORTS`},
		{"not v6 in brackets", input{args: []string{"[zz::1]:80"}}, `target "[zz::1]:80": "zz::1" is not an IPv6 address or prefix`},
		{"v4 in brackets", input{args: []string{"[198.18.2.2]:80"}}, `target "[198.18.2.2]:80": "198.18.2.2" is not an IPv6 address or prefix`},
		{"bracket not closed", input{args: []string{"[fd00::1:80"}}, `target "[fd00::1:80": missing ']' after the IPv6 address`},
		{"junk after bracket", input{args: []string{"[fd00::1]80"}}, `target "[fd00::1]80": unexpected "80" after ']'`},
		{"ipv6 without brackets", input{args: []string{"fd00:2::2:80"}}, `target "fd00:2::2:80": write IPv6 addresses in brackets with the port after them, e.g. [fd00:2::2]:80 (or give -p PORTS)`},
		{"no host", input{args: []string{":80"}}, `target ":80" has no host`},
		{"bad prefix", input{args: []string{"198.18.2.0/33:80"}}, `target "198.18.2.0/33:80": "198.18.2.0/33" is not an address prefix: write ADDR/BITS, e.g. 198.18.2.0/24 or fd00:2::/120`},
		{"octet over 255", input{args: []string{"198.18.2.1-300:80"}}, `target "198.18.2.1-300:80": range "198.18.2.1-300": octet "1-300" is not a number from 0 to 255`},
		{"octet range backwards", input{args: []string{"198.18.2.9-3:80"}}, `target "198.18.2.9-3:80": range "198.18.2.9-3": octet range "9-3" runs backwards`},
		{"three octets", input{args: []string{"198.18.2-3:80"}}, `target "198.18.2-3:80": range "198.18.2-3": want four octets, e.g. 198.18.2.1-20 or 198.18.2-3.1-5`},
		{"full range backwards", input{args: []string{"198.18.3.1-198.18.2.1:80"}}, `target "198.18.3.1-198.18.2.1:80": range "198.18.3.1-198.18.2.1" runs backwards`},
		{"not a host", input{args: []string{"a b!:80"}}, `target "a b!:80": "a b!" is not an address, prefix, range or host name`},
		{"no such host", input{args: []string{"nowhere:80"}}, `cannot resolve "nowhere": no such host: check the name, or give an IP address`},
		{"no IPv4 address", input{args: []string{"v6:80"}, opt: Options{Family: "ip4"}}, `cannot resolve "v6": no IPv4 address`},
		{"-6 with an IPv4 address", input{args: []string{"198.18.2.2:80"}, opt: Options{Family: "ip6"}}, `address 198.18.2.2 does not match -6: drop -6 or give an IPv6 address`},
		{"-4 with an IPv6 prefix", input{args: []string{"[fd00::/120]:80"}, opt: Options{Family: "ip4"}}, `fd00::/120 does not match -4: drop -4 or give IPv4 addresses`},
		{"unknown zone", input{args: []string{"[fe80::1%nosuch0]:80"}}, `target "[fe80::1%nosuch0]:80": zone "nosuch0" is not an interface of this host (see ip link)`},
		{"zone against --interface", input{args: []string{"[fe80::1%lo]:80"}, opt: Options{Interface: "eth9"}}, `target "[fe80::1%lo]:80": zone "lo" and --interface eth9 name different interfaces: drop one`},
		{"file: bad line", input{files: []Source{file("t.txt", "198.18.2.2:80\nfd00:2::2:80\n")}}, `t.txt:2: target "fd00:2::2:80": write IPv6 addresses in brackets with the port after them, e.g. [fd00:2::2]:80 (or give -p PORTS)`},
		{"file: unknown field", input{files: []Source{file("t.txt", "198.18.2.2:81 timeout=3\n")}}, `t.txt:1: unknown field "timeout=3" after the target: the only one is expect=open|refused|unreachable|timeout|closed`},
		{"file: port twice", input{files: []Source{file("t.txt", "198.18.2.2:81 82\n")}}, `t.txt:1: target "198.18.2.2:81" already has its port: drop "82" or write HOST PORTS`},
		{"file: no targets", input{files: []Source{file("t.txt", "# nothing\n\n")}}, `target file t.txt has no targets: write one HOST:PORT per line ('#' starts a comment)`},
		{"file: no port", input{files: []Source{file("t.txt", "srv\n")}}, `t.txt:1: target "srv" has no port: write HOST:PORT or give -p PORTS`},
		{"conflicting expectations", input{files: []Source{file("t.txt", "198.18.20.2:80 expect=open\nsrv:80 expect=closed\n")}}, `198.18.20.2:80 is expected both open (t.txt:1) and closed (t.txt:2): keep one expectation per destination`},
		{"conflict through a prefix", input{files: []Source{file("t.txt", "198.18.20.0/30:80 expect=refused\n198.18.20.2:80 expect=open\n")}}, `198.18.20.2:80 is expected both refused (t.txt:1) and open (t.txt:2): keep one expectation per destination`},
		{"--exclude bad", input{args: []string{"198.18.2.2:80"}, exclude: []string{"198.18.2.0/40"}}, `--exclude: target "198.18.2.0/40": "198.18.2.0/40" is not an address prefix: write ADDR/BITS, e.g. 198.18.2.0/24 or fd00:2::/120`},
		{"--exclude-file expect", input{args: []string{"198.18.2.2:80"}, exFiles: []Source{file("ex", "198.18.2.2 expect=open\n")}}, `--exclude-file: ex:1: expect= has no meaning in an exclude file`},
		{"unique", input{args: []string{"srv:80", "198.18.20.0/30:80"}, opt: Options{Unique: true}}, `198.18.20.2:80 is given twice (the command line and the command line) and one --source-port cannot carry both: drop --source-port or the duplicate`},
		{"too many", input{args: []string{"198.18.0.0/16"}, opt: Options{Ports: []uint16{1, 2}, MaxTargets: 100000}}, `198.18.0.0/16 expands to more than 100000 targets`},
	}
	_ = p80
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan(t, tt.in)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
		})
	}
}

// TestTooMany: the guard counts a huge prefix without expanding it and
// says how many it had counted.
func TestTooMany(t *testing.T) {
	_, err := plan(t, input{args: []string{"198.18.2.2:80", "[fd00::/64]:80"}, opt: Options{MaxTargets: 1 << 20}})
	var tm *TooManyError
	if !errors.As(err, &tm) || tm.AtLeast <= 1<<20 || tm.Where != "[fd00::/64]:80" {
		t.Fatalf("err = %v (%+v), want a TooManyError at [fd00::/64]:80", err, tm)
	}
	p, err := plan(t, input{args: []string{"198.18.0.0/15:80"}, exclude: []string{"198.18.0.0/16"}, opt: Options{MaxTargets: 1 << 16}})
	if err != nil || p.Total() != 1<<16 {
		t.Fatalf("a /15 less a /16: total %v, err %v; want 65536", p, err)
	}
}

// TestLazy: All yields the first target of a /8 without expanding the
// rest, and stops when told.
func TestLazy(t *testing.T) {
	p, err := plan(t, input{args: []string{"198.18.0.0/15:80"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range p.All() {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 || p.Total() != 1<<17 {
		t.Errorf("n=%d total=%d", n, p.Total())
	}
	allocs := testing.AllocsPerRun(1, func() {
		for range p.All() {
			break
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations for the first target of a /15", allocs)
	}
}

func TestParseServices(t *testing.T) {
	got := ParseServices(strings.NewReader("# comment\nssh\t\t22/tcp\t# SSH\ndomain 53/udp\nhttp 80/tcp www # web\nbad x/tcp\nhttp 8080/tcp\n"))
	want := Services{"ssh": 22, "http": 80, "www": 80}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b := BuiltinServices()
	for name, port := range map[string]uint16{"ssh": 22, "http": 80, "https": 443, "postgresql": 5432} {
		if p, ok := b.Port(name); !ok || p != port {
			t.Errorf("built-in %s = %d, want %d", name, p, port)
		}
		if p, ok := HostServices().Port(name); !ok || p != port {
			t.Errorf("host %s = %d, want %d", name, p, port)
		}
	}
}

// TestExcludeSpans: exclusions merge where they overlap or touch, count
// their overlap with a set exactly, and hold at the ends of the address
// space.
func TestExcludeSpans(t *testing.T) {
	var ex Exclude
	for _, s := range []string{"198.18.2.0/25", "198.18.2.128/25", "198.18.3.5", "::/0", "198.18.2.64/26"} {
		_, set, err := parseHost(s)
		if err != nil {
			t.Fatal(err)
		}
		ex.add(set, nil)
	}
	if len(ex.v4) != 2 || len(ex.v6) != 1 {
		t.Fatalf("merged spans: %d IPv4 (want 2), %d IPv6 (want 1)", len(ex.v4), len(ex.v6))
	}
	for _, tt := range []struct {
		set  string
		want uint64
	}{
		{"198.18.0.0/16", 257}, {"198.18.2.255/32", 1}, {"198.18.3.0/30", 0}, {"198.18.3.4-6", 1}, {"fd00::/120", 256},
	} {
		_, set, err := parseHost(tt.set)
		if err != nil {
			t.Fatal(err)
		}
		var got u128
		if s, ok := set.(spanSet); ok {
			got = ex.overlap(s.span)
		} else {
			got = set.(octets).count(nil).sub(set.count(&ex))
		}
		if got != (u128{0, tt.want}) {
			t.Errorf("overlap with %s: %v, want %d", tt.set, got, tt.want)
		}
	}
	if !ex.Excluded(netip.MustParseAddr("fe80::1%lo"), 80) || ex.Excluded(netip.MustParseAddr("198.18.4.1"), 80) {
		t.Error("Excluded: zone not ignored, or 198.18.4.1 excluded")
	}
}

// TestFileChanged: a target file that changes between the check and the
// run is reported, not probed blindly.
func TestFileChanged(t *testing.T) {
	texts := []string{"198.18.2.2:80\n", "198.18.2.2:80\nnewname:80\n"}
	n := 0
	src := Source{Name: "t.txt", Open: func() (io.ReadCloser, error) {
		s := texts[min(n, 1)]
		n++
		return io.NopCloser(strings.NewReader(s)), nil
	}}
	p, err := plan(t, input{files: []Source{src}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var last error
	for tg, err := range p.All() {
		if err != nil {
			last = err
			continue
		}
		got = append(got, tg.Name)
	}
	want := "t.txt:2: target file t.txt changed while it was read: newname is new"
	if len(got) != 1 || last == nil || last.Error() != want {
		t.Errorf("got %v, %v; want one target and %q", got, last, want)
	}
}

// TestNamesAcrossBatches: names are made nameBatch to a string; across
// batch boundaries each target keeps its own name, in order, and a
// consumer that stops mid-batch gets no more.
func TestNamesAcrossBatches(t *testing.T) {
	ports := make([]uint16, 300)
	for i := range ports {
		ports[i] = uint16(i + 1)
	}
	for _, tc := range []struct {
		arg  string
		name func(netip.AddrPort) string
	}{
		{"fd00:2::2", func(ap netip.AddrPort) string { return fmt.Sprintf("[fd00:2::2]:%d", ap.Port()) }},
		{"198.18.2.0/31", netip.AddrPort.String},
	} {
		p, err := plan(t, input{args: []string{tc.arg}, opt: Options{Ports: ports}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for tg, err := range p.All() {
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.name(tg.Addr); tg.Name != want || tg.Addr.Port() != ports[n%len(ports)] {
				t.Fatalf("%s: target %d is %s %v, want %s port %d", tc.arg, n, tg.Name, tg.Addr, want, ports[n%len(ports)])
			}
			if n++; n == nameBatch+44 {
				break
			}
		}
		if n != nameBatch+44 {
			t.Errorf("%s: %d targets before the break, want %d", tc.arg, n, nameBatch+44)
		}
	}
}

// BenchmarkAllPorts expands one host's 65,535 ports, as a port sweep's
// start does before its first SYN.
func BenchmarkAllPorts(b *testing.B) {
	ports := make([]uint16, 65535)
	for i := range ports {
		ports[i] = uint16(i + 1)
	}
	p, err := NewPlan(context.Background(), Options{Ports: ports, Resolver: names, Services: svc}, []string{"198.18.2.2"}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, err := range p.All() {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
