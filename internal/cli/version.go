package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/report"
)

// BuildDate is when the binary was built, set by a release build with
// -ldflags "-X github.com/tcpprobe/tcpprobe/internal/cli.BuildDate=2026-12-01T10:00:00Z";
// without it the version line gives the commit's time from the Go build
// information.
var BuildDate string

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

// buildInfo is the commit and date the Go toolchain recorded in the
// binary (vcs.revision, vcs.time, vcs.modified), or BuildDate.
func buildInfo() (commit, date string) {
	commit, date = "unknown", BuildDate
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return commit, date
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 12 {
				commit = commit[:12]
			}
		case "vcs.time":
			if date == "" {
				date = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit != "unknown" {
		commit += "+dirty"
	}
	if date == "" {
		date = "unknown"
	}
	return commit, date
}

// versionLine is what --version and tcpprobe version print.
func versionLine() string {
	commit, date := buildInfo()
	return fmt.Sprintf("tcpprobe %s (commit %s, built %s; JSON schema %s; %s %s/%s)", version(), commit, date, report.Schema, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tcpprobe's version, commit and build date",
		Long:  "Print tcpprobe's version, the commit and date it was built from (from the Go build information), the JSON schema it writes and the Go toolchain that built it. tcpprobe --version prints the same line.",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(s.Out, versionLine())
			return nil
		},
	}
}
