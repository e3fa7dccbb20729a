package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"logjail/analyze"
	"logjail/config"
)

func filterTestCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run a filter over log files and show what it finds (like fail2ban-regex)",
		ArgsUsage: "FILE...|-",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "filter", Usage: "built-in filter `NAME` (see logjail filter list)"},
			&cli.StringFlag{Name: "jail", Usage: "the filter of the configured jail `NAME` (from --config), e.g. one imported from fail2ban"},
			&cli.StringFlag{Name: "mode", Usage: "filter `MODE` (sshd: normal, ddos, extra, aggressive)"},
			&cli.StringSliceFlag{Name: "regex", Usage: "a failregex `RE` with <HOST> (repeatable), instead of --filter"},
			&cli.StringSliceFlag{Name: "ignoreregex", Usage: "with --regex: lines matching `RE` are ignored (repeatable)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per failure (JSON Lines) instead of a summary"},
			&cli.BoolFlag{Name: "invert", Usage: "print the lines no rule matched (nor ignored) instead of a summary, to see what a filter misses"},
		},
		Action: func(c *cli.Context) error {
			o := filterTestOptions{
				invert: c.Bool("invert"),
				filter: c.String("filter"), mode: c.String("mode"),
				regex: c.StringSlice("regex"), ignore: c.StringSlice("ignoreregex"),
				json: c.Bool("json"), files: c.Args().Slice(),
				jail: c.String("jail"),
			}
			if o.jail != "" {
				o.config = func() (*config.Config, error) { return e.config() }
			}
			if e.nowSet {
				o.now = e.now
			}
			return runFilterTest(c.Context, e, o)
		},
	}
}

type filterTestOptions struct {
	filter, mode  string
	regex, ignore []string
	json          bool
	invert        bool // print the missed lines
	files         []string
	now           time.Time // zero: each file's modification time
	jail          string
	config        func() (*config.Config, error) // loads --config, for jail
}

func runFilterTest(_ context.Context, e *env, o filterTestOptions) error {
	f, mode, err := resolveTestFilter(o)
	if err != nil {
		return err
	}
	if len(o.files) == 0 {
		return usagef("filter test: name the log files to read, or - for standard input")
	}
	if o.json && o.invert {
		return usagef("filter test: give --json or --invert, not both")
	}
	start := time.Now()
	st, err := analyze.TestFilter(analyze.TestOptions{Filter: f, Mode: mode, Files: o.files, Stdin: e.stdin,
		Ref: o.now, JSON: o.json, Invert: o.invert, Out: e.stdout})
	if err != nil || o.json || o.invert {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	printFilterSummary(w, o, f, mode, st, time.Since(start))
	return w.Flush()
}

func resolveTestFilter(o filterTestOptions) (*analyze.Filter, string, error) {
	if o.jail != "" {
		return jailTestFilter(o)
	}
	switch {
	case o.filter != "" && len(o.regex) > 0:
		return nil, "", usagef("filter test: give --filter or --regex, not both")
	case len(o.regex) > 0:
		if o.mode != "" {
			return nil, "", usagef("filter test: --mode goes with --filter")
		}
		f, err := analyze.NewRegexFilter("regex", o.regex, o.ignore)
		if err != nil {
			return nil, "", usageError(err)
		}
		return f, "", nil
	case o.filter != "":
		if len(o.ignore) > 0 {
			return nil, "", usagef("filter test: --ignoreregex goes with --regex")
		}
		f, ok := analyze.Builtin(o.filter)
		if !ok {
			var names []string
			for _, b := range analyze.Builtins() {
				names = append(names, b.Name)
			}
			return nil, "", usagef("filter test: unknown filter %q (built-in: %s)", o.filter, strings.Join(names, ", "))
		}
		mode, err := f.CheckMode(o.mode)
		if err != nil {
			return nil, "", usageError(err)
		}
		return f, mode, nil
	}
	return nil, "", usagef("filter test: give --filter NAME or --regex RE")
}

func printFilterSummary(w io.Writer, o filterTestOptions, f *analyze.Filter, mode string, st *analyze.TestStats, elapsed time.Duration) {
	name := f.Name
	if mode != "" {
		name += " (mode " + mode + ")"
	}
	fmt.Fprintf(w, "Filter:    %s\n", name)
	fmt.Fprintf(w, "Files:     %s\n", strings.Join(o.files, ", "))
	fmt.Fprintf(w, "Lines:     %d read, %d matched, %d ignored, %d missed\n", st.Lines, st.Matched, st.Ignored, st.Missed)
	fmt.Fprintf(w, "Ambiguous: %d lines skipped (client text on both sides of the address)\n", st.Ambiguous)
	if st.Long > 0 {
		fmt.Fprintf(w, "Skipped:   %d lines longer than %d bytes\n", st.Long, analyze.MaxLineLen)
	}
	fmt.Fprintf(w, "Failures:  %d from %d addresses", st.Failures, st.Addrs)
	if st.Names > 0 {
		fmt.Fprintf(w, " and %d host names (never resolved, never banned)", st.Names)
	}
	fmt.Fprintln(w)
	if len(st.Rules) > 0 {
		fmt.Fprintln(w, "Hits per rule:")
		for _, r := range st.Rules {
			fmt.Fprintf(w, "  %-22s %d\n", r.Rule, r.N)
		}
	}
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf(" (%.0f lines/s)", float64(st.Lines)/s)
	}
	fmt.Fprintf(w, "Elapsed:   %s%s\n", elapsed.Round(time.Microsecond), rate)
}

// jailTestFilter is the filter of a configured jail, in its mode.
func jailTestFilter(o filterTestOptions) (*analyze.Filter, string, error) {
	if o.filter != "" || len(o.regex) > 0 || o.mode != "" || len(o.ignore) > 0 {
		return nil, "", usagef("filter test: --jail goes without --filter, --regex, --mode and --ignoreregex")
	}
	cfg, err := o.config()
	if err != nil {
		return nil, "", err
	}
	j := cfg.Jail(o.jail)
	if j == nil {
		var names []string
		for _, x := range cfg.Jails {
			names = append(names, x.Name)
		}
		return nil, "", usagef("filter test: no jail %q in %s (jails: %s)", o.jail, cfg.File, strings.Join(names, ", "))
	}
	return j.Filter, j.Mode, nil
}
