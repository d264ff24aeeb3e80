package probe

import (
	"runtime"
	"testing"
)

func TestUseSweepProcs(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(base)
	for _, tt := range []struct {
		env  string
		want int
	}{{"", base + 2}, {"3", base}} {
		runtime.GOMAXPROCS(base)
		t.Setenv("GOMAXPROCS", tt.env)
		UseSweepProcs()
		if got := runtime.GOMAXPROCS(0); got != tt.want {
			t.Errorf("GOMAXPROCS=%q: %d Ps, want %d", tt.env, got, tt.want)
		}
	}
}
