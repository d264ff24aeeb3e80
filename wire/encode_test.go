package wire

import (
	"errors"
	"net/netip"
	"testing"
)

func TestEncodeSegmentErrors(t *testing.T) {
	v4, v6 := goldenSrc4, goldenSrc6
	mapped := netip.MustParseAddr("::ffff:198.18.2.2")
	tests := []struct {
		name    string
		spec    SegmentSpec
		buf     int
		wantErr error
	}{
		{name: "mixed families", spec: SegmentSpec{Src: v4, Dst: v6}, buf: MaxSegmentLen, wantErr: ErrBadSpec},
		{name: "IPv4-mapped destination", spec: SegmentSpec{Src: v6, Dst: mapped}, buf: MaxSegmentLen, wantErr: ErrBadSpec},
		{name: "IPv4-mapped both", spec: SegmentSpec{Src: mapped, Dst: mapped}, buf: MaxSegmentLen, wantErr: ErrBadSpec},
		{name: "unset source", spec: SegmentSpec{Dst: v4}, buf: MaxSegmentLen, wantErr: ErrBadSpec},
		{name: "flow label over 20 bits", spec: SegmentSpec{Src: v6, Dst: v6, FlowLabel: 1 << 20}, buf: MaxSegmentLen, wantErr: ErrBadSpec},
		{name: "IPv4 no options, 39 bytes", spec: SegmentSpec{Src: v4, Dst: v4}, buf: 39, wantErr: ErrShortBuffer},
		{name: "IPv4 no options, 40 bytes", spec: SegmentSpec{Src: v4, Dst: v4}, buf: 40},
		{name: "IPv6 all options, 79 bytes", spec: SegmentSpec{Src: v6, Dst: v6, Options: linuxSYNOptions(1440)}, buf: 79, wantErr: ErrShortBuffer},
		{name: "IPv6 all options, 80 bytes", spec: SegmentSpec{Src: v6, Dst: v6, Options: linuxSYNOptions(1440)}, buf: 80},
		{name: "nil buffer", spec: SegmentSpec{Src: v4, Dst: v4}, buf: 0, wantErr: ErrShortBuffer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, tt.buf)
			n, err := EncodeSegment(b, &tt.spec)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("EncodeSegment error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && n != tt.buf {
				t.Errorf("EncodeSegment wrote %d bytes, want %d", n, tt.buf)
			}
			if err != nil && n != 0 {
				t.Errorf("EncodeSegment returned n = %d with an error", n)
			}
		})
	}
}

func TestOptionsLen(t *testing.T) {
	tests := []struct {
		o    Options
		want int
	}{
		{Options{}, 0},
		{Options{HasMSS: true}, 4},
		{Options{SACKPermitted: true}, 4},
		{Options{HasWScale: true}, 4},
		{Options{HasTimestamps: true}, 12},
		{Options{HasTimestamps: true, SACKPermitted: true}, 12},
		{Options{HasMSS: true, SACKPermitted: true, HasWScale: true}, 12},
		{linuxSYNOptions(1460), 20},
		// Values without their Has flag are not encoded.
		{Options{MSS: 1460, WScale: 7, TSVal: 1}, 0},
	}
	for _, tt := range tests {
		if got := tt.o.Len(); got != tt.want {
			t.Errorf("%+v.Len() = %d, want %d", tt.o, got, tt.want)
		}
		var b [40]byte
		if n := tt.o.put(b[:]); n != tt.want {
			t.Errorf("%+v.put wrote %d bytes, Len says %d", tt.o, n, tt.want)
		}
	}
}

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    Flags
		want string
	}{
		{0, "none"},
		{SYN, "SYN"},
		{SYN | ACK, "SYN|ACK"},
		{RST | ACK, "RST|ACK"},
		{FIN | PSH | ACK, "FIN|PSH|ACK"},
		{0xff, "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR"},
		{SYN | ECE | CWR, "SYN|ECE|CWR"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Flags(%#02x).String() = %q, want %q", uint8(tt.f), got, tt.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for e := wireError(1); int(e) < len(wireErrors); e++ {
		if wireErrors[e].kind == nil || wireErrors[e].msg == "" {
			t.Errorf("wireError %d has no message or sentinel", e)
		}
		if !errors.Is(e, wireErrors[e].kind) {
			t.Errorf("%v does not match its sentinel %v", e, wireErrors[e].kind)
		}
	}
	if got := wireError(200).Error(); got != "wire: unknown error" {
		t.Errorf("out-of-range wireError = %q", got)
	}
}
