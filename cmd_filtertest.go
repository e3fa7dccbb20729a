package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
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

type ruleCount struct {
	rule string
	n    int64
}

// countRule adds one hit; rule names are few and constant, so a short
// list beats a map.
func (st *filterStats) countRule(rule string) {
	for i := range st.rules {
		if st.rules[i].rule == rule {
			st.rules[i].n++
			return
		}
	}
	st.rules = append(st.rules, ruleCount{rule, 1})
}

// filterStats counts what a filter made of one input.
type filterStats struct {
	lines, matched, ignored, missed, long int64
	failures, ambiguous                   int64
	rules                                 []ruleCount
	addrs                                 map[netip.Addr]struct{}
	names                                 map[string]struct{}
}

func runFilterTest(_ context.Context, e *env, o filterTestOptions) error {
	stdin, stdout := e.stdin, e.stdout
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
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	st := filterStats{addrs: map[netip.Addr]struct{}{}, names: map[string]struct{}{}}
	start := time.Now()
	for _, path := range o.files {
		if err := filterTestFile(o, f, mode, path, stdin, &st, w); err != nil {
			return err
		}
	}
	if o.json || o.invert {
		return w.Flush()
	}
	printFilterSummary(w, o, f, mode, &st, time.Since(start))
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

// failureJSON is one line of `filter test --json`, as CONTRACT.md fixes it.
type failureJSON struct {
	Line   int64  `json:"line"`
	Time   string `json:"time"`
	Host   string `json:"host"`
	User   string `json:"user,omitempty"`
	Filter string `json:"filter"`
	File   string `json:"file,omitempty"`
}

func filterTestFile(o filterTestOptions, f *analyze.Filter, mode, path string, stdin io.Reader, st *filterStats, w *bufio.Writer) error {
	var r io.Reader
	ref := o.now
	if path == "-" {
		r = stdin
		if ref.IsZero() {
			ref = time.Now()
		}
	} else {
		l, err := analyze.OpenLog(path)
		if err != nil {
			return fmt.Errorf("filter test: %w", err)
		}
		defer l.Close()
		r = l
		if ref.IsZero() {
			ref = l.Info.ModTime()
		}
	}
	tp := analyze.NewTimeParser(ref, nil)
	lr := analyze.NewLineReader(r)
	lr.Closed = true // the last line counts, ended by a newline or not
	m := f.New(mode)
	var buf []analyze.Failure
	var out analyze.Outcome
	var lastAddr netip.Addr
	enc := json.NewEncoder(w)
	file := ""
	if len(o.files) > 1 {
		file = path
	}
	for {
		line, ok := lr.Next()
		if !ok {
			break
		}
		st.lines++
		buf, out = m.Match(buf[:0], lr.Num(), line, tp)
		switch out {
		case analyze.Matched:
			st.matched++
		case analyze.Ignored:
			st.ignored++
		case analyze.Ambiguous:
			st.ambiguous++
		default:
			st.missed++
		}
		if o.invert && out == analyze.Missed {
			w.Write(line)
			w.WriteByte('\n')
		}
		for i := range buf {
			fl := &buf[i]
			st.failures++
			st.countRule(fl.Rule)
			if fl.Addr.IsValid() {
				if fl.Addr != lastAddr {
					st.addrs[fl.Addr] = struct{}{}
					lastAddr = fl.Addr
				}
			} else {
				st.names[fl.Host] = struct{}{}
			}
			if o.json {
				err := enc.Encode(failureJSON{Line: fl.Line, Time: fl.Time.Format(time.RFC3339Nano),
					Host: fl.HostString(), User: fl.User, Filter: f.Name, File: file})
				if err != nil {
					return err
				}
			}
		}
	}
	st.long += lr.Long
	if err := lr.Err(); err != nil {
		return fmt.Errorf("filter test: read %s: %w", path, err)
	}
	return nil
}

func printFilterSummary(w io.Writer, o filterTestOptions, f *analyze.Filter, mode string, st *filterStats, elapsed time.Duration) {
	name := f.Name
	if mode != "" {
		name += " (mode " + mode + ")"
	}
	fmt.Fprintf(w, "Filter:    %s\n", name)
	fmt.Fprintf(w, "Files:     %s\n", strings.Join(o.files, ", "))
	fmt.Fprintf(w, "Lines:     %d read, %d matched, %d ignored, %d missed\n", st.lines, st.matched, st.ignored, st.missed)
	fmt.Fprintf(w, "Ambiguous: %d lines skipped (client text on both sides of the address)\n", st.ambiguous)
	if st.long > 0 {
		fmt.Fprintf(w, "Skipped:   %d lines longer than %d bytes\n", st.long, analyze.MaxLineLen)
	}
	fmt.Fprintf(w, "Failures:  %d from %d addresses", st.failures, len(st.addrs))
	if len(st.names) > 0 {
		fmt.Fprintf(w, " and %d host names (never resolved, never banned)", len(st.names))
	}
	fmt.Fprintln(w)
	if len(st.rules) > 0 {
		fmt.Fprintln(w, "Hits per rule:")
		sort.Slice(st.rules, func(i, j int) bool {
			a, b := st.rules[i], st.rules[j]
			if a.n != b.n {
				return a.n > b.n
			}
			return a.rule < b.rule
		})
		for _, r := range st.rules {
			fmt.Fprintf(w, "  %-22s %d\n", r.rule, r.n)
		}
	}
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf(" (%.0f lines/s)", float64(st.lines)/s)
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
