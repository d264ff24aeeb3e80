// Package cli is tcpprobe's command line: the cobra tree, flag parsing and
// validation before any packet is sent, target expansion, the choice of
// output writer, and the one place where errors become exit codes.
package cli
