package wire

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// refFold is a byte-at-a-time RFC 1071 reference: sum 16-bit big-endian
// words (odd tail padded with zero) onto initial, fold, complement.
func refFold(b []byte, initial uint64) uint16 {
	s := initial
	for i := 0; i < len(b); i += 2 {
		w := uint64(b[i]) << 8
		if i+1 < len(b) {
			w |= uint64(b[i+1])
		}
		s += w
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got, want := Fold(Sum(b, 0)), ^uint16(0xddf2); got != want {
		t.Errorf("Fold(Sum(RFC 1071 example)) = %#04x, want %#04x", got, want)
	}
	// Byte order independence (RFC 1071 §2(B)): swapped input, swapped sum.
	sw := []byte{0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6}
	if got, want := Fold(Sum(sw, 0)), ^uint16(0xf2dd); got != want {
		t.Errorf("Fold(Sum(byte-swapped example)) = %#04x, want %#04x", got, want)
	}
}

func TestChecksumCases(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		initial uint32
		want    uint16
	}{
		{name: "empty", b: nil, want: 0xffff},
		{name: "one byte pads low", b: []byte{0xab}, want: ^uint16(0xab00)},
		{name: "three bytes", b: []byte{0x12, 0x34, 0x56}, want: ^uint16(0x1234 + 0x5600)},
		{name: "carry wraps", b: []byte{0xff, 0xff, 0x00, 0x01}, want: ^uint16(0x0001)},
		{name: "all ones stays ones", b: []byte{0xff, 0xff, 0xff, 0xff}, want: 0x0000},
		{name: "initial added", b: []byte{0x00, 0x01}, initial: 0x0002, want: ^uint16(0x0003)},
		{name: "huge initial folds", b: []byte{0xff, 0xff}, initial: 0xffffffff, want: refFold([]byte{0xff, 0xff}, 0xffffffff)},
		{name: "nine bytes (8-byte loop then tail)", b: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, want: refFold([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(Sum(tt.b, tt.initial)); got != tt.want {
				t.Errorf("Fold(Sum(% x, %#x)) = %#04x, want %#04x", tt.b, tt.initial, got, tt.want)
			}
		})
	}
}

func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2000)
	for i := range 2000 {
		n := r.IntN(len(buf))
		b := buf[:n]
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%3 == 0 { // many 0xff bytes stress the carries
			for j := range b {
				b[j] |= 0xf0
			}
		}
		initial := r.Uint32()
		if got, want := Fold(Sum(b, initial)), refFold(b, uint64(initial)); got != want {
			t.Fatalf("len %d initial %#x: Fold(Sum) = %#04x, reference %#04x", n, initial, got, want)
		}
		// Sums compose over an even split.
		k := r.IntN(n+1) &^ 1
		if got, want := Fold(Sum(b[k:], Sum(b[:k], initial))), Fold(Sum(b, initial)); got != want {
			t.Fatalf("len %d split %d: composed %#04x, whole %#04x", n, k, got, want)
		}
	}
}

func TestValid(t *testing.T) {
	for _, n := range []int{2, 3, 20, 21, 61} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + 11)
		}
		b[0], b[1] = 0, 0
		c := Fold(Sum(b, 0x1234))
		b[0], b[1] = byte(c>>8), byte(c)
		if !Valid(b, 0x1234) {
			t.Errorf("len %d: Valid = false after storing the checksum", n)
		}
		b[n-1] ^= 0x40
		if Valid(b, 0x1234) {
			t.Errorf("len %d: Valid = true after corrupting a byte", n)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	tests := []struct {
		name     string
		src, dst string
		proto    uint8
		length   int
		words    []byte // the pseudo-header as bytes
	}{
		{
			name: "IPv4", src: "198.18.1.1", dst: "198.18.2.2", proto: 6, length: 40,
			words: []byte{198, 18, 1, 1, 198, 18, 2, 2, 0, 6, 0, 40},
		},
		{
			name: "IPv6", src: "fd00:1::1", dst: "fd00:2::2", proto: 6, length: 0x12345,
			words: []byte{
				0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
				0, 1, 0x23, 0x45, 0, 0, 0, 6,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fold(PseudoHeaderSum(netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst), tt.proto, tt.length))
			if want := refFold(tt.words, 0); got != want {
				t.Errorf("Fold(PseudoHeaderSum) = %#04x, want %#04x", got, want)
			}
		})
	}
}
