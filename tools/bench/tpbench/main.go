// Command tpbench is the Go half of scripts/bench-sweep.sh:
//
//	tpbench listen ADDR PORTS          listen on PORTS (comma list) until killed
//	tpbench ceiling IFACE DSTMAC SRC DST N BATCH [WORKERS]   print packets/s of a minimal AF_PACKET sender
//	tpbench score TOOL FILE OPENPORTS  print "right wrong-examples" for tcpprobe|nmap|masscan output
//	tpbench span FILE                  print "probes span_ns" of tcpprobe --ndjson output: first SYN to last first SYN
//	tpbench sweep HOST SCHEDULE RATE CPUPROFILE  run the Prober over ports 1-65535 of HOST, print outcome counts, time and stats
//	tpbench fleet-score TOOL FILE PREFIX OPEN  print "right wrong-by-kind" for a sweep of every address of PREFIX (scripts/bench-fleet.sh)
package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/tcpprobe/tcpprobe/tools/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tpbench:", err)
		os.Exit(1)
	}
}

func ports(s string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.ParseUint(f, 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("bad port %q", f)
		}
		out = append(out, uint16(p))
	}
	return out, nil
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: tpbench listen|ceiling|score ARGS")
	}
	switch args[0] {
	case "listen":
		if len(args) != 3 {
			return fmt.Errorf("usage: tpbench listen ADDR PORTS")
		}
		ps, err := ports(args[2])
		if err != nil {
			return err
		}
		lns, err := bench.Listen(args[1], ps)
		if err != nil {
			return err
		}
		fmt.Println("listening")
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, os.Interrupt)
		<-c
		for _, l := range lns {
			l.Close()
		}
		return nil
	case "ceiling":
		if len(args) == 7 {
			args = append(args, "1")
		}
		if len(args) != 8 {
			return fmt.Errorf("usage: tpbench ceiling IFACE DSTMAC SRC DST N BATCH [WORKERS]")
		}
		workers, err := strconv.Atoi(args[7])
		if err != nil {
			return err
		}
		mac, err := net.ParseMAC(args[2])
		if err != nil {
			return err
		}
		src, err := netip.ParseAddr(args[3])
		if err != nil {
			return err
		}
		dst, err := netip.ParseAddr(args[4])
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(args[5])
		if err != nil {
			return err
		}
		b, err := strconv.Atoi(args[6])
		if err != nil {
			return err
		}
		pps, err := bench.Ceiling(bench.CeilingConfig{Interface: args[1], DstMAC: mac, Src: src, Dst: dst, SrcPort: 40000, Packets: n, Batch: b, Workers: workers})
		if err != nil {
			return err
		}
		fmt.Printf("%.0f\n", pps)
		return nil
	case "fleet-score":
		return fleetScore(args[1:])
	case "sweep":
		if len(args) != 5 {
			return fmt.Errorf("usage: tpbench sweep HOST SCHEDULE RATE CPUPROFILE")
		}
		return sweep(args[1], args[2], args[3], args[4])
	case "span":
		if len(args) != 2 {
			return fmt.Errorf("usage: tpbench span FILE")
		}
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		n, span, err := bench.SendSpan(f)
		if err != nil {
			return fmt.Errorf("%s: %w", args[1], err)
		}
		fmt.Println(n, span.Nanoseconds())
		return nil
	case "score":
		if len(args) != 4 {
			return fmt.Errorf("usage: tpbench score tcpprobe|nmap|masscan FILE OPENPORTS")
		}
		f, err := os.Open(args[2])
		if err != nil {
			return err
		}
		defer f.Close()
		var st []bench.State
		switch args[1] {
		case "tcpprobe":
			st, err = bench.ParseTCPProbe(f)
		case "nmap":
			st, err = bench.ParseNmap(f)
		case "masscan":
			st, err = bench.ParseMasscan(f)
		default:
			return fmt.Errorf("unknown tool %q", args[1])
		}
		if err != nil {
			return err
		}
		ps, err := ports(args[3])
		if err != nil {
			return err
		}
		open := map[uint16]bool{}
		for _, p := range ps {
			open[p] = true
		}
		right, wrong := bench.Score(st, open, 65535)
		fmt.Printf("%d\t%s\n", right, strings.Join(wrong, "; "))
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}
