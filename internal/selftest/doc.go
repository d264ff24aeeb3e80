// Package selftest proves tcpprobe works on this host without any outside
// network: it builds a throwaway client — router — server namespace lab
// (198.18.0.0/15 and fd00::/8 only, namespaces named tps-<pid>-c/-r/-s),
// runs every outcome class through the real probe path inside the client
// namespace by re-executing the tcpprobe binary there, compares what it
// saw with what it must see, and removes the lab, also when interrupted.
package selftest
