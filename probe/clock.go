package probe

import (
	"context"
	"time"
)

// Clock is the Prober's source of time: when packets were sent and
// received, when schedules fire. The real one is SystemClock; tests inject
// another (or run the real one inside a testing/synctest bubble, where
// the time package itself is fake).
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	// C delivers the time the timer fired.
	C() <-chan time.Time
	// Reset makes the timer fire d from now, whether or not it fired or
	// was stopped; a value it had not delivered yet is dropped.
	Reset(d time.Duration)
	// Stop stops the timer.
	Stop()
}

// SystemClock is the Clock of the time package.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }

// Reset relies on Go ≥ 1.23 timers: a reset timer never delivers a stale
// value.
func (t sysTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t sysTimer) Stop()                 { t.t.Stop() }

var _ Clock = SystemClock{}

// sleep waits d on c, or until ctx ends; it reports whether the whole d
// passed.
func sleep(ctx context.Context, c Clock, d time.Duration) bool {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}
