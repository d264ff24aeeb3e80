package cli

import (
	"net"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// addUXFlags registers -q and the completions of every flag whose values
// are a fixed list.
func addUXFlags(cmd *cobra.Command, o *Options) {
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing (only an error that stops the run); the exit status tells the result")
	fixed := map[string][]string{
		"profile": {probe.ProfileClassic + "\tthe BSD schedule of UNP (default)", probe.ProfileLinux + "\tthis host's kernel", probe.ProfileBSD + "\t4.4BSD exactly"},
		"mode":    {ModeAuto + "\traw, else connect(2) with a notice", ModeRaw + "\town SYNs (CAP_NET_RAW)", ModeConnect + "\tthe kernel's connect(2)"},
		"icmp":    {"soft\tsaved until the deadline", "hard\tends the probe", "rfc1122\tport/protocol unreachable hard, others soft"},
		"order":   {OrderInput + "\tin the order of the targets", OrderFinish + "\tas probes finish"},
		"rate":    {"max\tas fast as replies are still caught"},
	}
	fixed["expect"] = append(fixed["expect"], report.Expectations...)
	for name, values := range fixed {
		cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	cmd.RegisterFlagCompletionFunc("interface", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var names []string
		if ifis, err := net.Interfaces(); err == nil {
			for _, ifi := range ifis {
				names = append(names, ifi.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	for _, name := range []string{"ports", "schedule", "timeout", "interval", "source", "source-port", "ttl", "count", "concurrency", "exclude", "max-probes"} {
		cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	for _, name := range []string{"file", "exclude-file", "junit"} {
		cmd.MarkFlagFilename(name)
	}
}

// unknownCommand is a usage error when the first argument looks like a
// mistyped command (selftset) rather than a target: a bare word, no port,
// no -p, close to a command's name.
func unknownCommand(cmd *cobra.Command, args []string, ports string) error {
	if len(args) == 0 || ports != "" {
		return nil
	}
	w := args[0]
	if strings.ContainsAny(w, ":./[]*") {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(w); len(s) > 0 {
		return usagef("unknown command %q: did you mean %q? (a target needs a port: HOST:PORT, or give -p PORTS)", w, s[0])
	}
	return nil
}

// pflagError is how pflag words a value its flag type cannot parse.
var pflagError = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?--([\w-]+)" flag: `)

// flagError rewrites a flag parsing error in plain words, without the
// strconv or time internals pflag quotes.
func flagError(cmd *cobra.Command, err error) error {
	m := pflagError.FindStringSubmatch(err.Error())
	if m == nil {
		return &UsageError{Err: err}
	}
	val, name := m[1], m[2]
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return &UsageError{Err: err}
	}
	want := "a valid value"
	switch f.Value.Type() {
	case "uint8":
		want = "a number from 0 to 255"
		if name == "ttl" {
			want = "a number from 1 to 255"
		}
	case "uint16":
		want = "a number from 0 to 65535"
		if name == "source-port" {
			want = "a port from 1 to 65535 (0: a random free port per probe)"
		}
	case "int", "int64":
		want = "a whole number"
	case "duration":
		want = "a duration such as 500ms, 2s or 1m30s"
	case "bool":
		want = "true or false"
	}
	return usagef("--%s %s: want %s", name, val, want)
}

// errorOnce returns err's message with the advice a lower layer appended
// left out, so the command's own advice is printed once.
func errorOnce(err error) string {
	msg := err.Error()
	for _, cut := range []string{": tcpprobe needs CAP_NET_RAW", ": needs CAP_NET_RAW"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	return strings.TrimPrefix(msg, "rawsock: ")
}
