package lifecycle

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// Close modes (--close).
const (
	CloseFIN = "fin" // shutdown(SHUT_WR), then wait for the server's FIN
	CloseRST = "rst" // SO_LINGER 0 and close: an abortive close (RST)
)

// DefaultCloseTimeout is how long a FIN close waits for the server's FIN.
const DefaultCloseTimeout = 2 * time.Second

// bannerKeep is how much of what the server sent a result keeps.
const bannerKeep = 256

// Config configures a Handshaker.
type Config struct {
	Profile    probe.Profile // its schedule's give-up time bounds connect()
	Interface  string
	Source     netip.Addr
	SourcePort uint16
	// Send is written once the connection is up (--send).
	Send []byte
	// Banner, if set, is read for until it matches or Timeout runs out
	// (--expect-banner).
	Banner *regexp.Regexp
	// Hold keeps the connection open this long after the data, reading
	// what arrives (stops early at the server's FIN or RST).
	Hold time.Duration
	// Timeout bounds the data phase (banner read); 0: the schedule's
	// give-up time.
	Timeout time.Duration
	// Close is CloseFIN (default) or CloseRST.
	Close string
	// CloseTimeout bounds the wait for the server's FIN (0:
	// DefaultCloseTimeout); a re-sent FIN is watched for as long after the
	// close, at most a second.
	CloseTimeout time.Duration
	// Ready is called once every tap is open, before the first SYN: the
	// caller drops privilege there.
	Ready func() error
}

// ParseSend turns --send's value into bytes: "@FILE" reads FILE, anything
// else is taken as text with the escapes \r, \n, \t, \\ and \xHH.
func ParseSend(v string, readFile func(string) ([]byte, error)) ([]byte, error) {
	if name, ok := strings.CutPrefix(v, "@"); ok {
		b, err := readFile(name)
		if err != nil {
			return nil, fmt.Errorf("--send @%s: %w", name, err)
		}
		return b, nil
	}
	var out []byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(v) {
			return nil, errors.New("--send: a lone \\ at the end: write \\\\ for a backslash")
		}
		i++
		switch v[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(v) {
				return nil, errors.New("--send: \\x needs two hex digits")
			}
			n, err := strconv.ParseUint(v[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("--send: \\x%s is not a hex byte", v[i+1:i+3])
			}
			out = append(out, byte(n))
			i += 2
		default:
			return nil, fmt.Errorf("--send: unknown escape \\%c: use \\r, \\n, \\t, \\\\ or \\xHH", v[i])
		}
	}
	return out, nil
}
