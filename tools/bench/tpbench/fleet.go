package main

import (
	"fmt"
	"os"

	"github.com/tcpprobe/tcpprobe/tools/bench"
)

// fleetScore prints "right<TAB>wrong" for one tool's sweep of a fleet
// (scripts/bench-fleet.sh): args are TOOL FILE PREFIX OPENPREFIX.
func fleetScore(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: tpbench fleet-score tcpprobe|zmap|nmap|masscan FILE PREFIX OPENPREFIX")
	}
	fl, err := bench.NewFleet(args[2], args[3])
	if err != nil {
		return err
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	var st []bench.State
	switch args[0] {
	case "tcpprobe":
		st, err = fl.ParseTCPProbe(f)
	case "zmap":
		st, err = fl.ParseZmap(f)
	case "nmap":
		st, err = fl.ParseNmap(f)
	case "masscan":
		st, err = fl.ParseMasscan(f)
	default:
		return fmt.Errorf("unknown tool %q: want tcpprobe, zmap, nmap or masscan", args[0])
	}
	if err != nil {
		return err
	}
	right, wrong := fl.Score(st)
	fmt.Printf("%d\t%s\n", right, wrong)
	return nil
}
