package probe

// Causes of a Diagnosis (tcpprobe --diagnose).
const (
	CauseRejectedByHop     = "rejected-by-hop"        // a router answered with an ICMP error
	CauseFilteredAfterHop  = "filtered-after-hop"     // silence from the hop after Hop on
	CauseDestinationSilent = "destination-silent"     // every router answers, the destination never does
	CauseRefused           = "refused-by-destination" // the destination's RST or port unreachable
	CauseLocal             = "local"                  // nothing left this host
	CauseRetransmission    = "answered-on-retransmission"
	CauseSYNCookie         = "syn-cookie"        // the SYN-ACK carries the kernel's syncookie encoding
	CauseICMPRateLimited   = "icmp-rate-limited" // a router's ICMP errors reach some SYNs and not others
	CauseIntermittent      = "intermittent"      // the probe went unanswered, the trace's SYNs were answered
	CauseMaxHops           = "max-hops"          // routers answer up to --max-hops, the destination never
	CauseTraceFailed       = "trace-failed"      // the trace could not run; Summary says why
)

// Diagnosis says where and why a probe's SYN ended, from a trace of its own
// and from signatures in the probe's own packets.
type Diagnosis struct {
	Cause   string
	Hop     int    // the hop it names (0: none)
	Address string // who is at that hop ("" when nobody answered)
	Summary string // one sentence for people
	// Trace is the trace's one-line verdict ("" when none was run).
	Trace string
}
