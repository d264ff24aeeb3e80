package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
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
// The root's exit status moves from its description to a section of its
// own (GenManPages adds it).
func ManTree() *cobra.Command {
	root := NewRootCmd(context.Background(), Streams{Out: io.Discard, Err: io.Discard}, Env{})
	root.Long = strings.TrimSuffix(longHelp, "\n\n"+helpExit)
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
// tcpprobe.1 gets EXAMPLES (cobra names it EXAMPLE) and EXIT STATUS
// sections, as man-pages(7) orders them.
func GenManPages(dir string) error {
	d := manDate
	hdr := &doc.GenManHeader{Title: "TCPPROBE", Section: "1", Source: "tcpprobe", Manual: "tcpprobe manual", Date: &d}
	if err := doc.GenManTree(ManTree(), hdr, dir); err != nil {
		return err
	}
	p := filepath.Join(dir, "tcpprobe.1")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	page := strings.Replace(string(b), "\n.SH EXAMPLE\n", "\n"+exitStatusRoff()+"\n.SH EXAMPLES\n", 1)
	return os.WriteFile(p, []byte(page), 0o644)
}
