package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"logjail/analyze"
	"logjail/config"
	"logjail/report"
	"logjail/runner"
	"logjail/state"
)

func statusCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show active bans, failures in progress and log offsets",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json"},
		},
		Action: func(c *cli.Context) error {
			return runStatus(g, c.String("format"))
		},
	}
}

func runStatus(g *globals, format string) error {
	if format != "table" && format != "json" {
		return usagef("status: --format %q: want table or json", format)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	db, cleanup, err := openState(cfg, true)
	if err != nil {
		return err
	}
	defer cleanup()
	doc := report.StatusJSON{Bans: []report.BanJSON{}, Failures: []report.FailureJSON{}, Files: []report.FileJSON{}, Journals: []report.JournalJSON{}}
	err = db.View(func(tx *state.Tx) error {
		if t, ok := tx.LastRun(); ok {
			s := report.Time(t)
			doc.LastRun = &s
		}
		doc.Digest = digestStatus(tx, cfg)
		bans, err := tx.Bans()
		if err != nil {
			return err
		}
		for _, b := range bans {
			if b.ActiveAt(g.now) {
				doc.Bans = append(doc.Bans, report.BanJSON{Jail: b.Jail, IP: report.IP(b.Prefix), Start: report.Time(b.Start),
					Until: report.Until(b.Until), Failures: b.Failures, Offense: b.Offense})
			}
		}
		err = tx.ForEachTrack(func(jail string, key netip.Prefix, tr *analyze.Track) error {
			j := cfg.Jail(jail)
			if j == nil || len(tr.Failures) == 0 {
				return nil
			}
			from := g.now.Add(-j.FindTime).UnixNano()
			var in []int64
			for _, f := range tr.Failures {
				if f > from && f <= g.now.UnixNano() {
					in = append(in, f)
				}
			}
			if len(in) > 0 {
				doc.Failures = append(doc.Failures, report.FailureJSON{Jail: jail, IP: report.IP(key), Count: len(in),
					First: report.Time(time.Unix(0, in[0])), Last: report.Time(time.Unix(0, in[len(in)-1]))})
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Files(func(jail, path string, data []byte) error {
			var fs analyze.FileState
			if err := json.Unmarshal(data, &fs); err != nil {
				return fmt.Errorf("state: file entry %s %s: %w", jail, path, err)
			}
			doc.Files = append(doc.Files, report.FileJSON{Jail: jail, Path: path, Offset: fs.Offset, Inode: fs.Inode})
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Journals(func(jail, source string, data []byte) error {
			var rec runner.JournalRecord
			if err := json.Unmarshal(data, &rec); err != nil {
				return fmt.Errorf("state: journal entry %s %s: %w", jail, source, err)
			}
			jj := report.JournalJSON{Jail: jail, Source: source, Cursor: rec.Cursor, Lost: rec.Lost, Suppressed: rec.Suppressed}
			if rec.Realtime > 0 {
				s := report.Time(time.UnixMicro(rec.Realtime))
				jj.Time = &s
			}
			doc.Journals = append(doc.Journals, jj)
			return nil
		})
	})
	if err != nil {
		return stateError(err)
	}
	sort.Slice(doc.Bans, func(i, j int) bool { return doc.Bans[i].Jail+doc.Bans[i].IP < doc.Bans[j].Jail+doc.Bans[j].IP })
	if format == "json" {
		return report.JSON(g.stdout, doc)
	}
	return printStatus(g.stdout, &doc)
}

// digestStatus says how the digest fares: when the last one went, what
// waits, and, while deliveries fail, since when, why and when the next
// try is.
func digestStatus(tx *state.Tx, cfg *config.Config) *report.DigestStatusJSON {
	d := &report.DigestStatusJSON{Enabled: cfg.Digest.Enabled(), Pending: tx.EventCount()}
	if t, ok := tx.LastDigest(); ok {
		s := report.Time(t)
		d.LastSent = &s
	}
	if f, ok := tx.DigestFailure(); ok {
		since, last, next := report.Time(f.Since), report.Time(f.Last), report.Time(runner.RetryAt(f, cfg.Digest.Every))
		d.Failures, d.FailingSince, d.LastFailure, d.LastError = f.Count, &since, &last, f.Err
		if d.Enabled && d.Pending > 0 {
			d.NextTry = &next
		}
	}
	return d
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
			until := "permanent"
			if b.Until != nil {
				until = *b.Until
			}
			rows = append(rows, []string{b.Jail, b.IP, b.Start, until, fmt.Sprint(b.Offense)})
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
