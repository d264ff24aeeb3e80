// Package prefault makes the kernel map a slice's memory now, before a
// sweep, rather than page by page during it.
//
// Memory fresh from the kernel is mapped at its first write: a page fault
// each 4 KiB. During a sweep every CPU is busy carrying frames through the
// kernel inside the senders' system calls, and a fault there costs far more
// than the same fault before the first SYN, when the CPUs wait on RCU grace
// periods: on the 65,535-port lab sweep, results faulted in as they were
// made took the median wall time from 0.53 to 0.62 s.
package prefault

import "unsafe"

// pageSize is the smallest page the kernel maps; a larger one is only
// touched more often than needed.
const pageSize = 4096

// Slice writes the zero value into one element of every page of s's
// backing array, up to its capacity. Only for memory nothing else uses
// yet: a fresh make, whose elements are zero already.
func Slice[T any](s []T) {
	s = s[:cap(s)]
	var zero T
	step := max(1, pageSize/int(max(1, unsafe.Sizeof(zero))))
	for i := 0; i < len(s); i += step {
		s[i] = zero
	}
}
