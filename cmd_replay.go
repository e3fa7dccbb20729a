package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"logjail/analyze/journal"
	"logjail/config"
	"logjail/report"
	"logjail/runner"
)

func replayCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error {
			return runReplay(c.Context, e, replayOptions{files: c.Args().Slice(), jails: c.StringSlice("jail"), sets: c.StringSlice("set"),
				from: c.String("from"), to: c.String("to"), format: c.String("format"), output: c.String("output"), journal: c.Bool("journal")})
		},
	}
}

// replayProgressMin is the input size from which a terminal gets a
// progress bar.
const replayProgressMin = 16 << 20

type replayOptions struct {
	files, jails, sets []string
	from, to           string // TIME, or ""
	format, output     string
	journal            bool // files are journal files or directories
}

func runReplay(ctx context.Context, e *env, o replayOptions) error {
	if len(o.files) == 0 && !o.journal {
		return usagef("replay: name at least one log file")
	}
	switch o.format {
	case "table", "json", "csv", "html":
	default:
		return usagef("replay: --format %q: want table, json, csv or html", o.format)
	}
	ro := runner.ReplayOptions{Files: o.files, Jails: o.jails, Sets: o.sets}
	var err error
	if o.from != "" {
		if ro.From, err = parseTime(o.from); err != nil {
			return usagef("replay: --from %q: %v", o.from, err)
		}
	}
	if o.to != "" {
		if ro.To, err = parseTime(o.to); err != nil {
			return usagef("replay: --to %q: %v", o.to, err)
		}
	}
	if !ro.From.IsZero() && !ro.To.IsZero() && !ro.From.Before(ro.To) {
		return usagef("replay: --from %s is not before --to %s", o.from, o.to)
	}
	if e.nowSet {
		ro.Ref = e.now
	}
	// A replay's heap is its tables, which only grow until the report:
	// collecting as often as a long-running server would costs ~5% of a
	// replay for nothing. Peak memory stays bounded by what the tables
	// hold. GOGC, when set, still decides.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(800))
	}
	// Set changes a configuration in place: the what-if's comparison
	// judges with a second copy, as configured.
	cfg, err := e.config()
	if err != nil {
		return err
	}
	var base *config.Config
	if len(o.sets) > 0 {
		if base, err = e.config(); err != nil {
			return err
		}
	}
	var size int64
	if o.journal {
		ro.Journal = &journal.Source{}
		if len(o.files) > 0 {
			jfiles, err := journal.Walk(o.files)
			if err != nil {
				return usagef("replay: %v", err)
			}
			ro.Journal.Files = globEscape(jfiles)
		}
		size = journalEntries(ro.Journal)
		ro.Files = nil
		ro.Notice = func(w string) { fmt.Fprintf(e.stderr, "logjail: %s\n", w) }
	}
	for _, f := range ro.Files {
		info, err := os.Stat(f)
		if err != nil {
			return usagef("replay: %v", err)
		}
		if info.IsDir() {
			return usagef("replay: %s is a directory", f)
		}
		size += info.Size()
	}
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if o.journal && size >= replayProgressMin/64 || !o.journal && size >= replayProgressMin {
			bar := replayBar(f, size, o.journal)
			ro.Progress = func(n int64) { bar.Set64(n) }
			defer bar.Finish()
		}
	}
	rep, err := runner.Replay(ctx, cfg, base, ro)
	if err != nil {
		return err
	}
	return writeOutput(e, o.output, func(w io.Writer) error {
		switch o.format {
		case "json":
			return report.WriteReplayJSON(w, rep)
		case "csv":
			return report.WriteReplayCSV(w, rep)
		case "html":
			return report.WriteReplayHTML(w, rep, report.HTMLOptions{Generated: e.now, Version: "logjail " + versionString()})
		}
		return report.WriteReplayTable(w, rep)
	})
}

// replayBar is progressbar's Default (entries: the journal's) or
// DefaultBytes (the files' bytes) on the terminal f, as wide as f: theirs
// is as wide as stdout's terminal, or 80 columns when stdout is not one
// (progressbar v3.15.0), and would wrap on a narrower f.
func replayBar(f *os.File, total int64, entries bool) *progressbar.ProgressBar {
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		cols = 80
	}
	count := progressbar.OptionShowBytes(true)
	if entries {
		count = progressbar.OptionShowIts()
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetDescription("replay"),
		progressbar.OptionSetWriter(f),
		// The rest of the line takes up to 57 columns: "replay 100% |",
		// "| (999999/999999, 99999 it/s) [10m0s:10m0s]" and the last one.
		progressbar.OptionSetWidth(max(cols-57, 5)),
		progressbar.OptionThrottle(65*time.Millisecond),
		progressbar.OptionShowCount(),
		count,
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(f) }),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// journalEntries counts the entries of a journal source's files, for the
// progress bar (0 when they cannot be listed: the replay says why).
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

// writeOutput writes a report to path, or to stdout when path is "". A file
// is written beside its final name and renamed into place, so a failed
// report never leaves half a file.
func writeOutput(e *env, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(e.stdout)
	}
	return report.WriteFile("output", path, write)
}
