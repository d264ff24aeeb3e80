package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"time"

	"github.com/tcpprobe/tcpprobe/lifecycle"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
	"go.yaml.in/yaml/v3"
)

// DefaultModule is the module a scrape gets when it names none: the
// classic profile, cut at the scrape's timeout. A config may redefine it.
const DefaultModule = "default"

// Defaults of the limits section.
const (
	DefaultConcurrency   = 64
	DefaultQueue         = 1024
	DefaultMinInterval   = time.Second
	DefaultTimeoutOffset = 500 * time.Millisecond
	// DefaultScrapeTimeout is the timeout of a scrape that sends no
	// X-Prometheus-Scrape-Timeout-Seconds header: Prometheus's own default.
	DefaultScrapeTimeout = 10 * time.Second
)

// Probing modes of a module.
const (
	ModeRaw     = "raw"     // own SYNs on the shared raw links
	ModeConnect = "connect" // the kernel's connect(2); no packet timeline
	// ModeHandshake is not a config value: it labels the results of
	// handshake: full modules (the kernel's TCP, every segment recorded).
	ModeHandshake = "handshake"
)

// File is the YAML configuration as written.
type File struct {
	// Listen are the addresses to serve on; --listen replaces them.
	Listen []string `yaml:"listen"`
	// WebConfigFile is an exporter-toolkit web configuration (TLS, client
	// certificates, basic auth); relative to the config file's directory.
	WebConfigFile string `yaml:"web_config_file"`
	// KeepPrivileges keeps root and capabilities after the raw links are
	// open (default: dropped, as the command line does).
	KeepPrivileges bool                  `yaml:"keep_privileges"`
	Targets        TargetsFile           `yaml:"targets"`
	Limits         LimitsFile            `yaml:"limits"`
	Modules        map[string]ModuleFile `yaml:"modules"`
}

// TargetsFile says which targets may be probed.
type TargetsFile struct {
	// Allow are the networks (CIDR, or a bare address) a target must be
	// in. Empty: loopback only.
	Allow []string `yaml:"allow"`
}

// LimitsFile bounds what scrapes can make the exporter send.
type LimitsFile struct {
	Concurrency   int            `yaml:"concurrency"`    // probes in flight (0: 64)
	Queue         int            `yaml:"queue"`          // scrapes waiting for a slot (0: 1024); more get 503
	MinInterval   *time.Duration `yaml:"min_interval"`   // per target and module (default 1s; 0 turns it off)
	TimeoutOffset *time.Duration `yaml:"timeout_offset"` // taken off the scrape timeout (default 0.5s)
}

// ModuleFile is one module as written.
type ModuleFile struct {
	Profile    string        `yaml:"profile"`     // classic (default), linux or bsd
	Schedule   string        `yaml:"schedule"`    // SYN offsets and give-up: 0,1s,3s/10s
	Timeout    time.Duration `yaml:"timeout"`     // cut the schedule here (and never wait longer than the scrape)
	ICMP       string        `yaml:"icmp"`        // soft, hard or rfc1122; default the profile's
	Expect     string        `yaml:"expect"`      // open (default), refused, unreachable, timeout or closed
	Mode       string        `yaml:"mode"`        // raw (default) or connect
	IPProtocol string        `yaml:"ip_protocol"` // ip4 or ip6: which address of a name to probe (default: the first)
	// Handshake full completes the handshake with the kernel's TCP, sends
	// Send, reads until ExpectBanner matches and closes (Close: fin or
	// rst), recording every segment; it needs keep_privileges.
	Handshake    string `yaml:"handshake"`
	Send         string `yaml:"send"`          // the command line's --send syntax (\r \n \xHH escapes; no @FILE)
	ExpectBanner string `yaml:"expect_banner"` // a regular expression; probe_success needs it to match
	Close        string `yaml:"close"`         // fin (default) or rst
}

// Config is a validated configuration.
type Config struct {
	File
	Allow         []netip.Prefix
	Modules       map[string]*Module
	Concurrency   int
	Queue         int
	MinInterval   time.Duration
	TimeoutOffset time.Duration
}

// Module is a validated module.
type Module struct {
	Name       string
	Profile    probe.Profile // schedule and ICMP policy applied
	Timeout    time.Duration // 0: the schedule's give-up time
	Expect     string        // "" means open
	Mode       string
	IPProtocol string
	Handshake  bool           // handshake: full
	Send       []byte         // with Handshake
	Banner     *regexp.Regexp // with Handshake; nil: none expected
	File       ModuleFile
}

// loopback is what may be probed when the config allows nothing.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// LoadFile reads and validates the configuration at path.
func LoadFile(path string, sysctls func() (int, int, error)) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(b, sysctls)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse validates a configuration; sysctls (nil: the host's) gives the
// linux profile its schedule. Unknown keys are errors, so a typo cannot
// silently leave a limit at its default.
func Parse(b []byte, sysctls func() (int, int, error)) (*Config, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file (io.EOF) is the all-defaults config.
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not valid YAML for tcpprobe serve: %v", err)
	}
	if sysctls == nil {
		sysctls = probe.HostSysctls
	}
	c := &Config{File: f, Modules: map[string]*Module{}}
	for _, a := range f.Targets.Allow {
		p, err := parsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("targets.allow: %v", err)
		}
		c.Allow = append(c.Allow, p)
	}
	if len(c.Allow) == 0 {
		c.Allow = loopback
	}
	c.Concurrency, c.Queue = f.Limits.Concurrency, f.Limits.Queue
	if c.Concurrency < 0 || c.Queue < 0 {
		return nil, errors.New("limits: concurrency and queue must not be negative")
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	c.MinInterval, c.TimeoutOffset = DefaultMinInterval, DefaultTimeoutOffset
	if f.Limits.MinInterval != nil {
		c.MinInterval = *f.Limits.MinInterval
	}
	if f.Limits.TimeoutOffset != nil {
		c.TimeoutOffset = *f.Limits.TimeoutOffset
	}
	if c.MinInterval < 0 || c.TimeoutOffset < 0 {
		return nil, errors.New("limits: min_interval and timeout_offset must not be negative")
	}
	mods := f.Modules
	if _, ok := mods[DefaultModule]; !ok {
		mods = map[string]ModuleFile{DefaultModule: {}}
		for k, v := range f.Modules {
			mods[k] = v
		}
	}
	for name, mf := range mods {
		m, err := buildModule(name, mf, sysctls)
		if err != nil {
			return nil, fmt.Errorf("module %q: %v", name, err)
		}
		if m.Handshake && !f.KeepPrivileges {
			return nil, fmt.Errorf("module %q: handshake: full opens a recording socket for every probe, which needs CAP_NET_RAW for the exporter's life: set keep_privileges: true", name)
		}
		c.Modules[name] = m
	}
	return c, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set: write %s", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR network nor an address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func buildModule(name string, mf ModuleFile, sysctls func() (int, int, error)) (*Module, error) {
	m := &Module{Name: name, File: mf, Timeout: mf.Timeout, Mode: mf.Mode, IPProtocol: mf.IPProtocol}
	prof := mf.Profile
	if prof == "" {
		prof = probe.ProfileClassic
	}
	p, err := probe.ProfileByName(prof, sysctls)
	if err != nil {
		return nil, err
	}
	if mf.Schedule != "" {
		s, err := probe.ParseSchedule(mf.Schedule)
		if err != nil {
			return nil, err
		}
		p.Schedule = s
	}
	if mf.ICMP != "" {
		pol, err := probe.ParseICMPPolicy(mf.ICMP)
		if err != nil {
			return nil, err
		}
		p.ICMP = pol
	}
	if mf.Timeout < 0 {
		return nil, fmt.Errorf("timeout %v: want a positive duration", mf.Timeout)
	}
	p.Schedule = p.Schedule.Cut(mf.Timeout)
	m.Profile = p
	if mf.Expect != "" {
		if m.Expect, err = report.ParseExpect(mf.Expect); err != nil {
			return nil, err
		}
	}
	switch m.Mode {
	case "":
		m.Mode = ModeRaw
	case ModeRaw, ModeConnect:
	default:
		return nil, fmt.Errorf("mode %q: want raw or connect", m.Mode)
	}
	switch mf.Handshake {
	case "", "syn":
	case "full":
		m.Handshake = true
	default:
		return nil, fmt.Errorf("handshake %q: want syn or full", mf.Handshake)
	}
	if !m.Handshake && (mf.Send != "" || mf.ExpectBanner != "" || mf.Close != "") {
		return nil, errors.New("send, expect_banner and close need handshake: full")
	}
	if m.Handshake {
		if m.Mode == ModeConnect {
			return nil, errors.New("handshake: full records packets: it cannot run in mode connect")
		}
		switch mf.Close {
		case "", "fin", "rst":
		default:
			return nil, fmt.Errorf("close %q: want fin or rst", mf.Close)
		}
		if mf.Send != "" {
			if m.Send, err = lifecycle.ParseSend(mf.Send, noFiles); err != nil {
				return nil, err
			}
		}
		if mf.ExpectBanner != "" {
			if m.Banner, err = regexp.Compile(mf.ExpectBanner); err != nil {
				return nil, fmt.Errorf("expect_banner: %v", err)
			}
		}
	}
	switch m.IPProtocol {
	case "", "ip4", "ip6":
	default:
		return nil, fmt.Errorf("ip_protocol %q: want ip4 or ip6 (or leave it out: the first address)", m.IPProtocol)
	}
	return m, nil
}

// noFiles refuses send: @FILE: the config says what to send itself.
func noFiles(name string) ([]byte, error) {
	return nil, fmt.Errorf("send: @%s: files are not read here; write the bytes (with \\r \\n \\xHH escapes)", name)
}

// Allowed reports whether a may be probed.
func (c *Config) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ModuleNames lists the modules, sorted.
func (c *Config) ModuleNames() []string {
	var n []string
	for k := range c.Modules {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
