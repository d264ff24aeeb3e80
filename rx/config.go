package rx

import (
	"math"
	"time"
)

// Config holds the sysctls the receive path obeys, read in the probe's
// network namespace (ReadSysctls on Linux). The zero value is not useful:
// start from DefaultConfig, which holds the kernel's defaults.
type Config struct {
	// AcceptSourceRoute4 is net.ipv4.conf.{all,IF}.accept_source_route
	// (IN_DEV_ANDCONF: both must be set). Off, an IPv4 packet with an LSRR
	// or SSRR option is dropped (ip_rcv_options).
	AcceptSourceRoute4 bool
	// DropUnicastInL2Multicast4 and 6 are
	// net.ipv{4,6}.conf.{all,IF}.drop_unicast_in_l2_multicast: a unicast IP
	// packet in a link-layer broadcast or multicast frame is dropped
	// (ip_rcv_finish_core, ipv6_rcv_core). Off (the default) the kernel
	// accepts such a frame for ICMP; TCP never takes one (tcp_v4_rcv wants
	// PACKET_HOST).
	DropUnicastInL2Multicast4 bool
	DropUnicastInL2Multicast6 bool
	// RouteLocalnet is net.ipv4.conf.{all,IF}.route_localnet: off, a
	// packet from 127.0.0.0/8 arriving on a real interface is a martian.
	RouteLocalnet bool

	// MaxDstOptsNumber and MaxHBHOptsNumber are net.ipv6.max_dst_opts_number
	// and max_hbh_opts_number: the most non-padding options one header may
	// hold; negative means |n| and every unknown option is dropped whatever
	// its action bits (ip6_parse_tlv).
	MaxDstOptsNumber int
	MaxHBHOptsNumber int
	// MaxDstOptsLength and MaxHBHOptsLength are net.ipv6.max_dst_opts_length
	// and net.ipv6.max_hbh_length: the longest header, in bytes.
	MaxDstOptsLength int
	MaxHBHOptsLength int
	// Seg6Enabled is net.ipv6.conf.{all,IF}.seg6_enabled (both): off, every
	// segment routing header (type 4) is dropped (ipv6_srh_rcv).
	Seg6Enabled bool
	// RPLSegEnabled is net.ipv6.conf.IF.rpl_seg_enabled: off, every RPL
	// routing header (type 3) is dropped (ipv6_rpl_srh_rcv).
	RPLSegEnabled bool
	// IOAM6Enabled is net.ipv6.conf.IF.ioam6_enabled: off, an aligned IOAM
	// hop-by-hop option is skipped (ipv6_hop_ioam).
	IOAM6Enabled bool

	// IPFragTime and IP6FragTime are net.ipv4.ipfrag_time and
	// net.ipv6.ip6frag_time: how long a fragment queue waits for the rest.
	IPFragTime  time.Duration
	IP6FragTime time.Duration
	// IPFragHighThresh and IP6FragHighThresh are net.ipv4.ipfrag_high_thresh
	// and net.ipv6.ip6frag_high_thresh: above this many bytes held in
	// fragment queues, every new fragment is dropped (inet_frag_find).
	IPFragHighThresh  int
	IP6FragHighThresh int
	// IPFragMaxDist is net.ipv4.ipfrag_max_dist: a queue that saw more than
	// this many fragments from its source arrive for other queues since its
	// last one starts over (ip_frag_too_far). 0 turns the check off.
	IPFragMaxDist int

	// KernelTCPMD5 and KernelTCPAO say which TCP authentication options the
	// kernel was built with (CONFIG_TCP_MD5SIG, CONFIG_TCP_AO): they decide
	// how tcp_inbound_hash reads the options of a segment for a socket
	// without keys (an MD5 option is then dropped; an AO option only when
	// the kernel knows TCP-AO).
	KernelTCPMD5 bool
	KernelTCPAO  bool
}

// DefaultConfig returns the kernel's defaults (Linux 6.x).
func DefaultConfig() Config {
	return Config{
		MaxDstOptsNumber:  8,             // IP6_DEFAULT_MAX_DST_OPTS_CNT
		MaxHBHOptsNumber:  8,             // IP6_DEFAULT_MAX_HBH_OPTS_CNT
		MaxDstOptsLength:  math.MaxInt32, // IP6_DEFAULT_MAX_DST_OPTS_LEN
		MaxHBHOptsLength:  math.MaxInt32, // IP6_DEFAULT_MAX_HBH_OPTS_LEN
		IPFragTime:        30 * time.Second,
		IP6FragTime:       60 * time.Second,
		IPFragHighThresh:  4 << 20,
		IP6FragHighThresh: 4 << 20,
		IPFragMaxDist:     64,
		KernelTCPMD5:      true,
	}
}
