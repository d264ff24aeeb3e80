//go:build !linux

package privilege

import (
	"errors"
	"runtime"
)

var errNotImplemented = errors.New("privilege: dropping privilege is not implemented on " + runtime.GOOS)

// Drop fails: not implemented on this GOOS.
func Drop(opts Options) error { return errNotImplemented }

// Status fails: not implemented on this GOOS.
func Status() (State, error) { return State{}, errNotImplemented }

// StatusOf fails: not implemented on this GOOS.
func StatusOf(proc string) (State, error) { return State{}, errNotImplemented }
