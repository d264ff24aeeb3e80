// Package probe decides a TCP SYN's fate exactly as connect(2) would, from
// the bytes that come back.
//
// A Machine is one probe's state: a pure function of the events handed to
// it (a reply segment, an ICMP error, the passing of time) that says what to
// send next and when the probe is over. A Profile fixes the two knobs that
// separate one connect(2) from another: the SYN schedule and what an ICMP
// error does in SYN_SENT. A Prober runs many Machines over shared raw links,
// demultiplexing replies by 4-tuple and driving every schedule from one
// timer heap.
package probe
