// Command tpchain is the Go half of scripts/bench-trace.sh: it builds the
// chain lab of package lab (client, routers R1–R4 with ECMP at R2, server,
// syncookie server), fills the server's full-accept-queue listener in both
// families, prints the namespace prefix on one line, and holds the lab
// until SIGTERM or SIGINT, when it removes it.
//
//	tpchain
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tcpprobe/tcpprobe/internal/lab"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tpchain:", err)
		os.Exit(1)
	}
}

func run() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	c, err := lab.BuildChain()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, v6 := range []bool{false, true} {
		if err := c.FillAcceptQueue(lab.ChainPortFullQueue, v6); err != nil {
			return err
		}
	}
	fmt.Println(c.Prefix)
	<-sig
	return nil
}
