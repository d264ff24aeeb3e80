package prefault

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSliceMapsEveryPage: after Slice, the process faulted in about as
// many pages as the slice spans (a slice it did not touch costs none), and
// the elements are still zero.
func TestSliceMapsEveryPage(t *testing.T) {
	minflt := func() int64 {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
			t.Skipf("getrusage: %v", err)
		}
		return ru.Minflt
	}
	runtime.LockOSThread() // the counts are this thread's
	defer runtime.UnlockOSThread()
	type elem struct{ a, b uint64 }
	const n = 1 << 16 // 1 MiB: 256 pages
	before := minflt()
	s := make([]elem, 0, n)
	made := minflt() - before
	Slice(s)
	faulted := minflt() - before - made
	if made > 128 {
		// The runtime zeroed reused memory itself: nothing was left to map.
		t.Logf("make faulted in %d pages itself", made)
	} else if faulted < 200 {
		t.Errorf("Slice faulted in %d pages of a 256-page slice", faulted)
	}
	for i, e := range s[:n] {
		if e != (elem{}) {
			t.Fatalf("element %d is %+v after Slice, want zero", i, e)
		}
	}
}
