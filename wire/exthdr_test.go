package wire

import (
	"errors"
	"testing"
)

func TestReadExtHeader(t *testing.T) {
	dest := []byte{6, 0, 1, 4, 0, 0, 0, 0}                   // next TCP, 8 bytes, PadN 4
	frag := []byte{6, 0, 0x05, 0xb9, 0xde, 0xad, 0xbe, 0xef} // next TCP, offset 0x5b8 (1464) bytes, M, id
	ah := []byte{6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}         // next TCP, (1+2)*4 = 12 bytes
	tests := []struct {
		name string
		b    []byte
		off  int
		typ  uint8
		want ExtHeader
		err  error
	}{
		{"destination options", dest, 0, IPv6DestOptions, ExtHeader{Type: IPv6DestOptions, Next: 6, Len: 8}, nil},
		{"fragment", frag, 0, IPv6Fragment, ExtHeader{Type: IPv6Fragment, Next: 6, Len: 8, FragOffset: 1464, More: true, FragID: 0xdeadbeef}, nil},
		{"AH", ah, 0, IPv6AH, ExtHeader{Type: IPv6AH, Next: 6, Len: 12}, nil},
		{"at an offset", append([]byte{9, 9}, dest...), 2, IPv6HopByHop, ExtHeader{Type: IPv6HopByHop, Next: 6, Off: 2, Len: 8}, nil},
		{"shorter than 8 bytes", dest[:7], 0, IPv6DestOptions, ExtHeader{}, ErrTruncated},
		{"length past the packet", []byte{6, 1, 0, 0, 0, 0, 0, 0}, 0, IPv6Routing, ExtHeader{}, ErrTruncated},
		{"offset past the packet", dest, 9, IPv6Routing, ExtHeader{}, ErrTruncated},
		{"negative offset", dest, -1, IPv6Routing, ExtHeader{}, ErrTruncated},
		{"not an extension header", dest, 0, ProtocolTCP, ExtHeader{}, ErrBadHeader},
		{"no next header", dest, 0, IPv6NoNextHdr, ExtHeader{}, ErrBadHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h ExtHeader
			err := ReadExtHeader(tt.b, tt.off, tt.typ, &h)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err == nil && h != tt.want {
				t.Errorf("got %+v, want %+v", h, tt.want)
			}
		})
	}
}

func TestSkipExtHeaders(t *testing.T) {
	hdr := func(next byte) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }
	var nine []byte
	for range 8 {
		nine = append(nine, hdr(IPv6DestOptions)...)
	}
	nine = append(nine, hdr(ProtocolTCP)...)
	tests := []struct {
		name  string
		b     []byte
		nh    uint8
		proto uint8
		upper int
		frag  bool
		err   error
	}{
		{"no extension header", nil, ProtocolTCP, ProtocolTCP, 0, false, nil},
		{"nine destination options", nine, IPv6DestOptions, ProtocolTCP, 72, false, nil},
		{"first fragment is crossed", []byte{ProtocolTCP, 0, 0, 1, 0, 0, 0, 1}, IPv6Fragment, ProtocolTCP, 8, true, nil},
		{"non-first fragment stops", []byte{ProtocolTCP, 0, 0, 8, 0, 0, 0, 1}, IPv6Fragment, IPv6Fragment, 8, true, nil},
		{"no next header", hdr(IPv6NoNextHdr), IPv6HopByHop, IPv6NoNextHdr, 8, false, ErrBadHeader},
		{"cut short", hdr(ProtocolTCP)[:4], IPv6Routing, IPv6Routing, 0, false, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proto, upper, frag, err := SkipExtHeaders(tt.b, 0, tt.nh)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if proto != tt.proto || upper != tt.upper || frag != tt.frag {
				t.Errorf("got %d at %d frag %v, want %d at %d frag %v", proto, upper, frag, tt.proto, tt.upper, tt.frag)
			}
		})
	}
}

func TestParseAuthOptions(t *testing.T) {
	md5 := append([]byte{OptMD5, OptMD5Len}, make([]byte, 16)...)
	ao := []byte{OptAO, 6, 1, 2, 0, 0}
	nops := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = OptNOP
		}
		return b
	}
	cat := func(bs ...[]byte) []byte {
		var o []byte
		for _, b := range bs {
			o = append(o, b...)
		}
		return o
	}
	tests := []struct {
		name     string
		b        []byte
		kernelAO bool
		want     AuthOptions
		bad      bool
	}{
		{"none", []byte{OptMSS, 4, 5, 0xb4}, false, AuthOptions{}, false},
		{"MD5", md5, false, AuthOptions{MD5: true}, false},
		{"MD5 after NOPs", cat(nops(2), md5), false, AuthOptions{MD5: true}, false},
		{"MD5 of length 16", cat([]byte{OptMD5, 16}, make([]byte, 16)), false, AuthOptions{}, true},
		{"MD5 twice", cat(md5, md5), false, AuthOptions{MD5: true}, true},
		{"AO alone, kernel without AO: 6 bytes are never walked", ao, false, AuthOptions{}, false},
		{"AO alone, kernel with AO", ao, true, AuthOptions{AO: true}, false},
		{"AO then MD5", cat(ao, md5), false, AuthOptions{AO: true}, true},
		{"AO of 4 bytes", cat([]byte{OptAO, 4, 1, 2}, nops(16)), false, AuthOptions{}, true},
		{"length 1 while 18 bytes are left", cat([]byte{30, 1}, nops(16)), false, AuthOptions{}, true},
		{"length past the end", cat([]byte{30, 40}, nops(16)), false, AuthOptions{}, true},
		{"malformed in the last 17 bytes passes", cat(nops(3), []byte{30, 1}, nops(12)), false, AuthOptions{}, false},
		{"EOL ends the walk", cat([]byte{OptEOL}, md5), false, AuthOptions{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthOptions(tt.b, tt.kernelAO)
			if (err != nil) != tt.bad || (err != nil && !errors.Is(err, ErrBadOption)) {
				t.Fatalf("error %v, want bad=%v (ErrBadOption)", err, tt.bad)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseAuthOptions(f *testing.F) {
	f.Add(append([]byte{OptMD5, OptMD5Len}, make([]byte, 16)...), false)
	f.Add([]byte{OptAO, 6, 1, 2, 0, 0, OptMD5, 18}, true)
	f.Add([]byte{1, 1, 30, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, false)
	f.Fuzz(func(t *testing.T, b []byte, kernelAO bool) {
		a, err := ParseAuthOptions(b, kernelAO)
		if err != nil && !errors.Is(err, ErrBadOption) {
			t.Fatalf("error %v does not match ErrBadOption", err)
		}
		if a.MD5 && a.AO && err == nil {
			t.Fatalf("both MD5 and AO without an error")
		}
	})
}
