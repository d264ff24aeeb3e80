package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/report"
)

// version is the tool's version: report.Version when the build set it
// (-ldflags "-X github.com/tcpprobe/tcpprobe/report.Version=v1.2.3"), else
// the module version go install recorded, else "dev".
func version() string {
	if report.Version != "dev" && report.Version != "" {
		return report.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tcpprobe's version",
		Long:  "Print tcpprobe's version, the JSON schema it writes and the Go toolchain that built it.",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(s.Out, "tcpprobe %s (JSON schema %s, %s %s/%s)\n", version(), report.Schema, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
