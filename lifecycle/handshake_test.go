package lifecycle

import (
	"errors"
	"testing"
)

func TestParseSend(t *testing.T) {
	files := map[string][]byte{"req.txt": []byte("GET / HTTP/1.0\r\n\r\n")}
	read := func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, errors.New("no such file")
	}
	tests := []struct {
		in, want string
		err      bool
	}{
		{`HEAD / HTTP/1.0\r\n\r\n`, "HEAD / HTTP/1.0\r\n\r\n", false},
		{`a\tb\\c\x41`, "a\tb\\cA", false},
		{"@req.txt", "GET / HTTP/1.0\r\n\r\n", false},
		{"plain", "plain", false},
		{`\q`, "", true},
		{`end\`, "", true},
		{`\x4`, "", true},
		{`\xzz`, "", true},
		{"@missing", "", true},
	}
	for _, tc := range tests {
		got, err := ParseSend(tc.in, read)
		if (err != nil) != tc.err || (err == nil && string(got) != tc.want) {
			t.Errorf("ParseSend(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
