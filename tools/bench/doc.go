// Package bench holds what scripts/bench-sweep.sh needs besides the tools
// it compares: a server that listens on a set of ports, a minimal
// AF_PACKET sender that measures the packets/s ceiling of a path, and a
// scorer that checks each tool's port classification against the truth the
// lab knows. The command in tpbench exposes them.
package bench
