// Command gen writes tcpprobe's man pages from its cobra tree:
//
//	go generate ./internal/cli    (runs: go run ./gen -out ../../man)
//
// The man pages are never edited by hand; internal/cli's tests fail when
// man/ is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tcpprobe/tcpprobe/internal/cli"
)

func main() {
	out := flag.String("out", "man", "directory to write the man pages into")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := cli.GenManPages(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
