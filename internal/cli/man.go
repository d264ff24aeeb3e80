package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

//go:generate go run ./gen -out ../../man

// manDate is the date in the man pages' footer. It is fixed so that the
// pages change only when the command tree does; bump it on a release.
var manDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// ManTree returns the command tree as the man pages document it: the root
// command with every subcommand, cobra's completion command included.
func ManTree() *cobra.Command {
	root := NewRootCmd(context.Background(), Streams{Out: io.Discard, Err: io.Discard}, Env{})
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return root
}

// GenManPages writes tcpprobe.1 and a page per subcommand into dir.
func GenManPages(dir string) error {
	d := manDate
	hdr := &doc.GenManHeader{Title: "TCPPROBE", Section: "1", Source: "tcpprobe", Manual: "tcpprobe manual", Date: &d}
	return doc.GenManTree(ManTree(), hdr, dir)
}
