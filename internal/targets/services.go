package targets

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// servicesPath is the services database of the host, read once when a
// port is named.
const servicesPath = "/etc/services"

// builtinServices are the common TCP service names, for hosts without
// /etc/services (a scratch container); the database, when present, adds
// to them and wins where it differs.
var builtinServices = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53,
	"gopher": 70, "finger": 79, "http": 80, "www": 80, "kerberos": 88, "pop3": 110,
	"sunrpc": 111, "auth": 113, "nntp": 119, "ntp": 123, "epmap": 135, "netbios-ssn": 139,
	"imap": 143, "imap2": 143, "snmp": 161, "bgp": 179, "ldap": 389, "https": 443,
	"microsoft-ds": 445, "submissions": 465, "smtps": 465, "rtsp": 554, "submission": 587,
	"ipp": 631, "ldaps": 636, "rsync": 873, "ftps": 990, "imaps": 993, "pop3s": 995,
	"socks": 1080, "openvpn": 1194, "ms-sql-s": 1433, "pptp": 1723, "radius": 1812,
	"nfs": 2049, "mysql": 3306, "ms-wbt-server": 3389, "svn": 3690, "sip": 5060,
	"sip-tls": 5061, "xmpp-client": 5222, "postgresql": 5432, "amqp": 5672,
	"x11": 6000, "irc": 6667, "http-alt": 8080, "git": 9418, "zabbix-agent": 10050,
}

// Services maps service names to TCP ports.
type Services map[string]uint16

// Port returns the TCP port of name.
func (s Services) Port(name string) (uint16, bool) {
	p, ok := s[strings.ToLower(name)]
	return p, ok
}

// ParseServices reads a services database (services(5)): "name port/proto
// aliases... # comment"; only tcp entries count, the first entry of a name
// wins.
func ParseServices(r io.Reader) Services {
	out := Services{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		num, proto, ok := strings.Cut(f[1], "/")
		if !ok || proto != "tcp" {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 65535 {
			continue
		}
		for _, name := range append([]string{f[0]}, f[2:]...) {
			name = strings.ToLower(name)
			if _, dup := out[name]; !dup {
				out[name] = uint16(n)
			}
		}
	}
	return out
}

// HostServices is the services of this host: /etc/services over the
// built-in table, read once.
var HostServices = sync.OnceValue(func() Services {
	out := Services{}
	for k, v := range builtinServices {
		out[k] = v
	}
	if f, err := os.Open(servicesPath); err == nil {
		defer f.Close()
		for k, v := range ParseServices(f) {
			out[k] = v
		}
	}
	return out
})

// BuiltinServices returns the built-in table alone (what a host without
// /etc/services knows).
func BuiltinServices() Services {
	out := Services{}
	for k, v := range builtinServices {
		out[k] = v
	}
	return out
}
