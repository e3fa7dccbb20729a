package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"logjail/report"
	"logjail/runner"
)

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show active bans, failures in progress and log offsets",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json"},
		},
		Action: func(c *cli.Context) error {
			return runStatus(c.Context, e, statusOptions{format: c.String("format")})
		},
	}
}

type statusOptions struct {
	format string
}

func runStatus(_ context.Context, e *env, o statusOptions) error {
	if o.format != "table" && o.format != "json" {
		return usagef("status: --format %q: want table or json", o.format)
	}
	cfg, err := e.config()
	if err != nil {
		return err
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
	fmt.Fprintf(w, "\nActive bans: %d\n", len(doc.Bans))
	if len(doc.Bans) > 0 {
		rows := [][]string{}
		for _, b := range doc.Bans {
			rows = append(rows, []string{b.Jail, b.IP, b.Start, untilText(b.Until), fmt.Sprint(b.Offense)})
		}
		if err := report.Table(w, []string{"JAIL", "ADDRESS", "START", "UNTIL", "OFFENSE"}, rows); err != nil {
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
