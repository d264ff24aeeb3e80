package bench

import (
	"strings"
	"testing"
)

func TestFleetParse(t *testing.T) {
	f, err := NewFleet("198.19.0.0/16", "198.19.0.0/17")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tool, in string
		want           map[int]State // offset in the prefix → state
		bad            bool
	}{
		{name: "tcpprobe", tool: "tcpprobe",
			in: `{"address":"198.19.0.1","port":80,"outcome":"open"}` + "\n" +
				`{"address":"198.19.128.0","port":80,"outcome":"refused"}` + "\n" +
				`{"address":"198.19.255.255","port":80,"outcome":"timeout"}` + "\n" +
				`{"type":"summary","address":"198.19.0.1"}` + "\n",
			want: map[int]State{1: Open, 32768: Closed, 65535: Other}},
		{name: "tcpprobe outside", tool: "tcpprobe", in: `{"address":"198.18.2.2","outcome":"open"}` + "\n", bad: true},
		{name: "tcpprobe text", tool: "tcpprobe", in: "198.19.0.1:80 open\n", bad: true},
		{name: "zmap", tool: "zmap", in: "saddr,classification\n198.19.0.0,synack\n198.19.200.1,rst\n198.19.200.1,synack\n198.19.3.4,rst\n",
			want: map[int]State{0: Open, 200<<8 | 1: Open, 3<<8 | 4: Closed}},
		{name: "zmap bad address", tool: "zmap", in: "198.19.0,rst\n", bad: true},
		{name: "nmap", tool: "nmap",
			in: "# Nmap 7.93 scan initiated\nHost: 198.19.0.9 ()\tStatus: Up\nHost: 198.19.0.9 ()\tPorts: 80/open/tcp//http///\n" +
				"Host: 198.19.129.1 ()\tPorts: 80/closed/tcp//http///\nHost: 198.19.1.1 ()\tPorts: 80/filtered/tcp//http///\n# Nmap done\n",
			want: map[int]State{9: Open, 129<<8 | 1: Closed, 1<<8 | 1: Other}},
		{name: "nmap no state", tool: "nmap", in: "Host: 198.19.0.9 ()\tPorts: 80\n", bad: true},
		{name: "masscan", tool: "masscan", in: "#masscan\nopen tcp 80 198.19.0.2 1700000000\nclosed tcp 80 198.19.255.0 1700000000\n# end\n",
			want: map[int]State{2: Open, 255 << 8: Closed}},
	}
	parse := map[string]func(*strings.Reader) ([]State, error){
		"tcpprobe": func(r *strings.Reader) ([]State, error) { return f.ParseTCPProbe(r) },
		"zmap":     func(r *strings.Reader) ([]State, error) { return f.ParseZmap(r) },
		"nmap":     func(r *strings.Reader) ([]State, error) { return f.ParseNmap(r) },
		"masscan":  func(r *strings.Reader) ([]State, error) { return f.ParseMasscan(r) },
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := parse[tt.tool](strings.NewReader(tt.in))
			checkStates(t, st, err, tt.bad, tt.want)
		})
	}
}

func TestFleetScore(t *testing.T) {
	f, err := NewFleet("198.19.0.0/24", "198.19.0.0/25")
	if err != nil {
		t.Fatal(err)
	}
	perfect := make([]State, 256)
	for i := range perfect {
		perfect[i] = Open
		if i >= 128 {
			perfect[i] = Closed
		}
	}
	tests := []struct {
		name      string
		edit      func([]State)
		right     int
		wrongLine string
	}{
		{name: "all right", edit: func([]State) {}, right: 256},
		{name: "two kinds wrong", edit: func(s []State) { s[3], s[4], s[200] = Unknown, Unknown, Other }, right: 253,
			wrongLine: "1 closed as other (198.19.0.200); 2 open as unreported (198.19.0.3 198.19.0.4)"},
		{name: "short", edit: func([]State) {}, right: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := append([]State(nil), perfect...)
			if tt.name == "short" {
				st = nil
			}
			tt.edit(st)
			right, wrong := f.Score(st)
			if right != tt.right {
				t.Errorf("right = %d, want %d", right, tt.right)
			}
			if tt.wrongLine != "" && wrong != tt.wrongLine {
				t.Errorf("wrong = %q, want %q", wrong, tt.wrongLine)
			}
		})
	}
}

func TestNewFleet(t *testing.T) {
	for _, tt := range []struct{ prefix, open string }{
		{"198.19.0.0/15", "198.19.0.0/17"},
		{"2001:db8::/112", "2001:db8::/113"},
		{"198.19.0.0", "198.19.0.0/17"},
		{"198.19.0.0/16", "x"},
	} {
		if _, err := NewFleet(tt.prefix, tt.open); err == nil {
			t.Errorf("NewFleet(%q, %q): no error", tt.prefix, tt.open)
		}
	}
}
