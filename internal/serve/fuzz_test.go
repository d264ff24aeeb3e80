package serve

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// noResolver resolves nothing: fuzzing must not reach DNS.
type noResolver struct{}

func (noResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("no resolver in this test")
}

// FuzzTarget feeds /probe's target and the scrape timeout header, which
// come from whoever can reach the exporter, to their parsers: no panic, a
// parsed target is a usable address and port, a timeout is positive.
func FuzzTarget(f *testing.F) {
	for _, s := range []struct{ target, timeout string }{
		{"198.18.2.2:80", "10"},
		{"[fd00:2::2]:443", "0.5"},
		{"[::ffff:198.18.2.2]:80", "1e3"},
		{"[fe80::1%eth0]:22", "-1"},
		{"db.internal:5432", "NaN"},
		{"198.18.2.2", ""},
		{":80", "Inf"},
		{"198.18.2.2:65536", "0x10"},
	} {
		f.Add(s.target, s.timeout)
	}
	s := &Server{opts: Options{Resolver: noResolver{}}}
	f.Fuzz(func(t *testing.T, target, timeout string) {
		ap, err := s.resolve(context.Background(), target, "")
		if err == nil {
			if !ap.Addr().IsValid() || ap.Port() == 0 || ap.Addr().Is4In6() || ap.Addr().Zone() != "" {
				t.Errorf("%q parsed to %v", target, ap)
			}
			if strings.Count(target, ":") == 0 {
				t.Errorf("%q has no port but parsed to %v", target, ap)
			}
		}
		h := http.Header{}
		h.Set(ScrapeTimeoutHeader, timeout)
		if d, err := scrapeTimeout(h, DefaultTimeoutOffset); err == nil && (d <= 0 || d > 1e6*time.Second) {
			t.Errorf("header %q gave timeout %v", timeout, d)
		}
	})
}
