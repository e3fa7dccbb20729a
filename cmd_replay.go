package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"logjail/analyze"
	"logjail/analyze/journal"
	"logjail/config"
	"logjail/report"
	"logjail/runner"
)

func replayCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "replay",
		Usage: "analyse historical log files (plain or gzip) into a report",
		Description: "Reads the files (plain or gzip, recognised by content, in any order) merged by time\n" +
			"through every selected jail's filter and policy, exactly as run would, and reports who\n" +
			"attacked, when, with which user names, and the bans the policy would have issued.\n" +
			"With --set, the report also compares with the configured policy: which addresses\n" +
			"only the what-if bans, and which only the configured policy bans.\n" +
			"It never touches the state file or the firewall, and needs no configuration file.\n" +
			"Dates without a year take it from each file's modification time (or --now).\n" +
			"With --journal the arguments are systemd journal files or directories (walked for\n" +
			"*.journal files), none meaning the local journal; each jail reads the entries of its\n" +
			"journal match (its journal.match, else its filter's, such as _COMM=sshd).",
		ArgsUsage: "FILE...",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "jail", Usage: "only this jail (repeatable); default: every enabled jail"},
			&cli.StringFlag{Name: "from", Usage: "ignore failures before `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "ignore failures at or after `TIME`"},
			&cli.StringSliceFlag{Name: "set", Usage: "what-if policy override `KEY=VALUE` (" + strings.Join(config.SetKeys, ", ") + ")"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, json, csv or html"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout"},
			&cli.BoolFlag{Name: "journal", Usage: "read systemd journal files or directories (none: the local journal) with journalctl"},
		},
		Action: func(c *cli.Context) error { return replay(c, g) },
	}
}

// replayProgressMin is the input size from which a terminal gets a
// progress bar.
const replayProgressMin = 16 << 20

func replay(c *cli.Context, g *globals) error {
	files := c.Args().Slice()
	useJournal := c.Bool("journal")
	if len(files) == 0 && !useJournal {
		return usagef("replay: name at least one log file")
	}
	format := c.String("format")
	switch format {
	case "table", "json", "csv", "html":
	default:
		return usagef("replay: --format %q: want table, json, csv or html", format)
	}
	var from, to time.Time
	var err error
	if s := c.String("from"); s != "" {
		if from, err = parseTime(s); err != nil {
			return usagef("replay: --from %q: %v", s, err)
		}
	}
	if s := c.String("to"); s != "" {
		if to, err = parseTime(s); err != nil {
			return usagef("replay: --to %q: %v", s, err)
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return usagef("replay: --from %s is not before --to %s", c.String("from"), c.String("to"))
	}
	// A replay's heap is its tables, which only grow until the report:
	// collecting as often as a long-running server would costs ~5% of a
	// replay for nothing. Peak memory stays bounded by what the tables
	// hold. GOGC, when set, still decides.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(800))
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	jails, err := replayJails(cfg, c.StringSlice("jail"), c.StringSlice("set"))
	if err != nil {
		return usageError(err)
	}
	var size int64
	var jsrc *journal.Source
	if useJournal {
		jsrc = &journal.Source{}
		if len(files) > 0 {
			jfiles, err := journal.Walk(files)
			if err != nil {
				return usagef("replay: %v", err)
			}
			jsrc.Files = globEscape(jfiles)
		}
		size = journalEntries(jsrc)
		files = nil
	}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return usagef("replay: %v", err)
		}
		if info.IsDir() {
			return usagef("replay: %s is a directory", f)
		}
		size += info.Size()
	}

	o := analyze.ReplayOptions{From: from, To: to}
	if g.nowSet {
		o.Ref = g.now
	}
	o.Jails = analyzeJails(jails, cfg.History)
	// With --set, the configured policy judges the same files too, for the
	// comparison: in the same pass, unless an override changes what a
	// filter finds (mode), which takes a second pass.
	sets := c.StringSlice("set")
	var second []analyze.ReplayJail
	if len(sets) > 0 {
		base, err := loadConfig(g)
		if err != nil {
			return err
		}
		baseJails, err := replayJails(base, c.StringSlice("jail"), nil)
		if err != nil {
			return usageError(err)
		}
		second = analyzeJails(baseJails, base.History)
		if sameFilters(o.Jails, second) {
			for i := range o.Jails {
				o.Jails[i].Compare = second[i].Policy
			}
			second = nil
		}
	}
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		switch {
		case jsrc != nil && size >= replayProgressMin/64:
			bar = progressbar.Default(size, "replay")
		case jsrc == nil && size >= replayProgressMin:
			bar = progressbar.DefaultBytes(size, "replay")
		}
		if bar != nil {
			o.Progress = func(n int64) { bar.Set64(n) }
			defer bar.Finish()
		}
	}
	// replayOnce runs one pass: a journal is read anew for each.
	replayOnce := func(o analyze.ReplayOptions) (*analyze.ReplayStats, error) {
		if jsrc == nil {
			return analyze.Replay(c.Context, files, o)
		}
		rec, err := journal.NewRecords(c.Context, jsrc, journalMatches(cfg, o.Jails))
		if err != nil {
			return nil, usageError(err)
		}
		defer rec.Close()
		o.Records = []analyze.RecordSource{rec}
		st, err := analyze.Replay(c.Context, nil, o)
		if err != nil {
			return nil, err
		}
		res := rec.Result()
		for _, w := range append(res.Warnings, res.Notices...) {
			fmt.Fprintf(g.stderr, "logjail: %s\n", w)
		}
		return st, nil
	}
	st, err := replayOnce(o)
	if err != nil {
		return err
	}
	rep := report.NewReplay(st, o.Jails, time.Local)
	if len(sets) > 0 {
		configured := st.CompareBans
		if second != nil {
			o.Jails, o.Progress = second, nil
			cst, err := replayOnce(o)
			if err != nil {
				return err
			}
			configured = cst.Bans
		}
		report.CompareWhatIf(rep, configured, sets)
	}
	return writeOutput(g, c.String("output"), func(w io.Writer) error {
		switch format {
		case "json":
			return report.WriteReplayJSON(w, rep)
		case "csv":
			return report.WriteReplayCSV(w, rep)
		case "html":
			return report.WriteReplayHTML(w, rep, report.HTMLOptions{Generated: g.now, Version: "logjail " + versionString()})
		}
		return report.WriteReplayTable(w, rep)
	})
}

// journalMatches returns the journal match of each replayed jail: its
// journal.match, else its filter's default (none: every entry).
func journalMatches(cfg *config.Config, jails []analyze.ReplayJail) [][]string {
	out := make([][]string, len(jails))
	for i, rj := range jails {
		if j := cfg.Jail(rj.Name); j != nil && j.Journal != nil && len(j.Journal.Match) > 0 {
			out[i] = j.Journal.Match
		} else {
			out[i] = journal.DefaultMatch(rj.Filter.Name)
		}
	}
	return out
}

// journalEntries counts the entries of a journal source's files, for the
// progress bar (0 when they cannot be listed: Replay says why).
func journalEntries(src *journal.Source) int64 {
	var n int64
	files, _ := src.List()
	for _, f := range files {
		if fi, err := journal.ReadFileInfo(f); err == nil {
			n += int64(fi.Entries)
		}
	}
	return n
}

// globEscape quotes the glob metacharacters of paths.
func globEscape(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		var b strings.Builder
		for _, r := range p {
			if strings.ContainsRune(`*?[\`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out
}

// analyzeJails gives the engine each jail's filter and policy.
func analyzeJails(jails []*config.Jail, history time.Duration) []analyze.ReplayJail {
	out := make([]analyze.ReplayJail, len(jails))
	for i, j := range jails {
		out[i] = analyze.ReplayJail{Name: j.Name, Filter: j.Filter, Mode: j.Mode, Policy: runner.Policy(j, history)}
	}
	return out
}

// sameFilters reports whether two lists of jails, read from the same
// configuration file, name the same jails with the same filters and modes
// in the same order: they find the same failures.
func sameFilters(a, b []analyze.ReplayJail) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Filter.Name != b[i].Filter.Name || a[i].Mode != b[i].Mode {
			return false
		}
	}
	return true
}

// replayJails returns the jails a replay runs: the named ones (enabled or
// not), else every enabled jail, with the what-if overrides applied.
func replayJails(cfg *config.Config, names, sets []string) ([]*config.Jail, error) {
	if err := cfg.Select(names...); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("replay: --set %q: want KEY=VALUE", s)
		}
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
	}
	jails := cfg.Jails
	if len(names) == 0 {
		jails = cfg.Enabled()
	}
	if len(jails) == 0 {
		return nil, fmt.Errorf("replay: no jail is enabled in %s; name one with --jail", cfg.File)
	}
	return jails, nil
}

// writeOutput writes a report to path, or to stdout when path is "". A file
// is written beside its final name and renamed into place, so a failed
// report never leaves half a file.
func writeOutput(g *globals, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(g.stdout)
	}
	return report.WriteFile("output", path, write)
}
