package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"logjail/config"
	"logjail/fleet"
	"logjail/remote"
	"logjail/report"
	"logjail/runner"
)

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show active bans, failures in progress and log offsets",
		Description: "Without --fleet it reads the state file only. --fleet asks the fleet's database\n" +
			"instead: the bans active now across the fleet, by the host they came from, and the\n" +
			"addresses that failed on the most hosts inside their jail's findtime (counted only\n" +
			"with fleet.share: failures).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json"},
			&cli.BoolFlag{Name: "fleet", Usage: "show the fleet's bans by origin host and the addresses failing on most hosts"},
		},
		Action: func(c *cli.Context) error {
			return runStatus(c.Context, e, statusOptions{format: c.String("format"), fleet: c.Bool("fleet")})
		},
	}
}

type statusOptions struct {
	format string
	fleet  bool
}

func runStatus(ctx context.Context, e *env, o statusOptions) error {
	if o.format != "table" && o.format != "json" {
		return usagef("status: --format %q: want table or json", o.format)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if o.fleet {
		return runStatusFleet(ctx, e, cfg, o)
	}
	db, closeDB, err := e.state(cfg, true)
	if err != nil {
		return err
	}
	defer closeDB()
	doc, err := runner.Status(db, cfg, e.now)
	if err != nil {
		return stateError(err)
	}
	if o.format == "json" {
		return report.JSON(e.stdout, doc)
	}
	return printStatus(e.stdout, doc)
}

func printStatus(w io.Writer, doc *report.StatusJSON) error {
	last := "never"
	if doc.LastRun != nil {
		last = *doc.LastRun
	}
	fmt.Fprintf(w, "Last run: %s\n", last)
	if d := doc.Digest; d != nil {
		printDigestStatus(w, d)
	}
	if f := doc.Fleet; f != nil {
		printFleetStatus(w, f)
	}
	fmt.Fprintf(w, "\nActive bans: %d\n", len(doc.Bans))
	if len(doc.Bans) > 0 {
		rows := [][]string{}
		head := []string{"JAIL", "ADDRESS", "START", "UNTIL", "OFFENSE"}
		if doc.Fleet != nil {
			head = append(head, "ORIGIN")
		}
		for _, b := range doc.Bans {
			row := []string{b.Jail, b.IP, b.Start, untilText(b.Until), fmt.Sprint(b.Offense)}
			if doc.Fleet != nil {
				row = append(row, b.Origin)
			}
			rows = append(rows, row)
		}
		if err := report.Table(w, head, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nFailures in progress: %d\n", len(doc.Failures))
	if len(doc.Failures) > 0 {
		rows := [][]string{}
		for _, f := range doc.Failures {
			rows = append(rows, []string{f.Jail, f.IP, fmt.Sprint(f.Count), f.First, f.Last})
		}
		if err := report.Table(w, []string{"JAIL", "ADDRESS", "COUNT", "FIRST", "LAST"}, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nLog files: %d\n", len(doc.Files))
	if len(doc.Files) > 0 {
		rows := [][]string{}
		for _, f := range doc.Files {
			rows = append(rows, []string{f.Jail, f.Path, fmt.Sprint(f.Offset), fmt.Sprint(f.Inode)})
		}
		if err := report.Table(w, []string{"JAIL", "PATH", "OFFSET", "INODE"}, rows); err != nil {
			return err
		}
	}
	if len(doc.Journals) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nJournals: %d\n", len(doc.Journals))
	rows := [][]string{}
	for _, j := range doc.Journals {
		t := "-"
		if j.Time != nil {
			t = *j.Time
		}
		rows = append(rows, []string{j.Jail, j.Source, t, fmt.Sprint(j.Lost), fmt.Sprint(j.Suppressed), j.Cursor})
	}
	return report.Table(w, []string{"JAIL", "SOURCE", "TIME", "LOST", "SUPPRESSED", "CURSOR"}, rows)
}

func printDigestStatus(w io.Writer, d *report.DigestStatusJSON) {
	if !d.Enabled {
		fmt.Fprintln(w, "Digest: off (digest.to is not set)")
		return
	}
	sent := "never"
	if d.LastSent != nil {
		sent = *d.LastSent
	}
	fmt.Fprintf(w, "Digest: last sent %s, %s waiting\n", sent, report.Count(d.Pending, "event", "events"))
	if d.Failures == 0 {
		return
	}
	n := report.Count(d.Failures, "failed delivery", "failed deliveries")
	fmt.Fprintf(w, "Digest FAILING since %s: %s, the last at %s: %s\n", *d.FailingSince, n, *d.LastFailure, d.LastError)
	if d.NextTry != nil {
		fmt.Fprintf(w, "Digest: the next try at %s (logjail digest tries now)\n", *d.NextTry)
	}
}

// printFleetStatus says how the fleet exchange fares, in one line.
func printFleetStatus(w io.Writer, f *report.FleetStatusJSON) {
	last := "never"
	if f.LastOK != nil {
		last = *f.LastOK
	}
	fmt.Fprintf(w, "Fleet (as %s): last exchange %s, %d changes pending", f.Host, last, f.Pending)
	if f.Failures > 0 {
		fmt.Fprintf(w, "; FAILING since %s (%d in a row): %s", *f.FailingSince, f.Failures, f.LastError)
	}
	fmt.Fprintln(w)
}

// topFailing is how many addresses status --fleet lists as failing on
// the most hosts.
const topFailing = 20

func runStatusFleet(ctx context.Context, e *env, cfg *config.Config, o statusOptions) error {
	if !cfg.Fleet.Enabled() {
		return usagef("status --fleet: %s has no fleet.dsn", cfg.File)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Fleet.Timeout)
	defer cancel()
	var windows []fleet.Counting
	for _, j := range cfg.Jails {
		windows = append(windows, fleet.Counting{Jail: j.Name, FindTime: j.FindTime})
	}
	ov, err := remote.Overview(ctx, &cfg.Fleet, cfg.Fleet.Host, e.now, windows, topFailing)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	doc := runner.FleetView(ov, e.now)
	if o.format == "json" {
		return report.JSON(e.stdout, doc)
	}
	w := e.stdout
	fmt.Fprintf(w, "Fleet bans active at %s: %d from %s\n", doc.Now, len(doc.Bans), report.Count(len(doc.Hosts), "host", "hosts"))
	if len(doc.Hosts) > 0 {
		rows := [][]string{}
		for _, h := range doc.Hosts {
			rows = append(rows, []string{h.Host, fmt.Sprint(h.Bans)})
		}
		if err := report.Table(w, []string{"ORIGIN", "BANS"}, rows); err != nil {
			return err
		}
		rows = rows[:0]
		for _, b := range doc.Bans {
			rows = append(rows, []string{b.Origin, b.Jail, b.IP, b.Start, untilText(b.Until)})
		}
		fmt.Fprintln(w)
		if err := report.Table(w, []string{"ORIGIN", "JAIL", "ADDRESS", "START", "UNTIL"}, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nFailing on the most hosts (inside findtime): %d\n", len(doc.Failing))
	if len(doc.Failing) == 0 {
		return nil
	}
	rows := [][]string{}
	for _, f := range doc.Failing {
		rows = append(rows, []string{f.Jail, f.IP, fmt.Sprint(f.Hosts), fmt.Sprint(f.Failures), f.Last})
	}
	return report.Table(w, []string{"JAIL", "ADDRESS", "HOSTS", "FAILURES", "LAST"}, rows)
}
