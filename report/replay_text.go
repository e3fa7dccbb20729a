package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"logjail/config"
	"logjail/enforce"
)

// TableTop is how many addresses and user names the table report lists;
// JSON and CSV list them all, HTML its own HTMLOptions.Rows.
const TableTop = 20

// TableBans is how many bans the table report lists.
const TableBans = 200

// WriteReplayTable writes the report as plain-text tables.
func WriteReplayTable(w io.Writer, r *Replay) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Replayed %d lines of %s", r.Lines, Count(len(r.Files), "file", "files"))
	if r.Failures == 0 {
		fmt.Fprintf(ew, ": no failures found.\n")
		writeAmbiguous(ew, r)
		return ew.err
	}
	fmt.Fprintf(ew, ", %s to %s (%s).\n", r.From.Format(time.DateTime), r.To.Format(time.DateTime), config.FormatDuration(r.To.Sub(r.From).Round(time.Second)))
	fmt.Fprintf(ew, "%d failures from %d addresses; the policy bans %d times.\n", r.Failures, len(r.IPs), len(r.Bans))
	writeAmbiguous(ew, r)
	fmt.Fprintln(ew)

	var rows [][]string
	for _, j := range r.Jails {
		bt := durationText(j.BanTime, j.Permanent)
		rows = append(rows, []string{j.Name, itoa(j.Failures), strconv.Itoa(j.Addresses), strconv.Itoa(j.Bans),
			strconv.Itoa(j.MaxRetry), config.FormatDuration(j.FindTime), bt})
	}
	ew.table("Jails", []string{"jail", "failures", "addresses", "bans", "maxretry", "findtime", "bantime"}, rows)

	rows = rows[:0]
	for _, ip := range r.IPs[:min(len(r.IPs), TableTop)] {
		rows = append(rows, []string{ip.Addr.String(), itoa(ip.Failures), ip.First.Format(time.DateTime), ip.Last.Format(time.DateTime),
			strings.Join(ip.Jails, ","), Printable(strings.Join(ip.Users, ","))})
	}
	ew.table(topTitle("Top addresses", len(r.IPs)), []string{"address", "failures", "first", "last", "jails", "users tried"}, rows)

	rows = rows[:0]
	for _, b := range r.Bans[:min(len(r.Bans), TableBans)] {
		until := "permanent"
		if !b.Until.IsZero() {
			until = b.Until.Format(time.DateTime)
		}
		rows = append(rows, []string{b.Jail, enforce.Addr(b.Prefix), b.Start.Format(time.DateTime), until, strconv.Itoa(b.Offense), strconv.Itoa(b.Failures)})
	}
	if len(rows) > 0 {
		title := fmt.Sprintf("Bans the policy would issue (%d)", len(r.Bans))
		if len(r.Bans) > TableBans {
			title = fmt.Sprintf("Bans the policy would issue (the first %d of %d; --format json lists all)", TableBans, len(r.Bans))
		}
		ew.table(title, []string{"jail", "address", "start", "until", "offense", "failures"}, rows)
	} else {
		fmt.Fprintf(ew, "The policy bans no address.\n\n")
	}

	if w := r.WhatIf; w != nil {
		fmt.Fprintf(ew, "What if %s: %d bans of %d addresses, where the configured policy issues %d bans of %d.\n",
			strings.Join(w.Set, ", "), len(r.Bans), r.banned(), w.Bans, w.Banned)
		for _, l := range []struct {
			title string
			ps    []JailPrefix
		}{{"Banned only with " + strings.Join(w.Set, ", "), w.OnlyWhatIf}, {"Banned only with the configured policy", w.OnlyConfigured}} {
			if len(l.ps) == 0 {
				fmt.Fprintf(ew, "%s: none.\n", l.title)
				continue
			}
			rows = rows[:0]
			for _, p := range l.ps[:min(len(l.ps), TableBans)] {
				rows = append(rows, []string{p.Jail, enforce.Addr(p.Prefix)})
			}
			ew.table(fmt.Sprintf("%s (%d)", l.title, len(l.ps)), []string{"jail", "address"}, rows)
		}
		fmt.Fprintln(ew)
	}

	rows = rows[:0]
	per, layout := stepName(r.Step), "2006-01-02 15:04"
	if per == "day" {
		layout = time.DateOnly
	}
	for _, b := range r.Timeline {
		rows = append(rows, []string{b.Start.Format(layout), itoa(b.Failures), itoa(b.Bans)})
	}
	ew.table("Timeline, per "+per, []string{per, "failures", "bans"}, rows)

	rows = rows[:0]
	for _, u := range r.Users[:min(len(r.Users), TableTop)] {
		rows = append(rows, []string{Printable(u.Name), itoa(u.Failures), strconv.Itoa(u.Addresses)})
	}
	if len(rows) > 0 {
		ew.table(topTitle("Most tried user names", len(r.Users)), []string{"user", "failures", "addresses"}, rows)
	}
	return ew.err
}

func topTitle(what string, n int) string {
	if n > TableTop {
		return fmt.Sprintf("%s (%d of %d)", what, TableTop, n)
	}
	return fmt.Sprintf("%s (%d)", what, n)
}

// durationText writes a policy duration as the configuration does.
func durationText(d time.Duration, permanent bool) string {
	if permanent {
		return "permanent"
	}
	return config.FormatDuration(d)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// errWriter keeps the first write error, so a report is written without
// checking every line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) table(title string, header []string, rows [][]string) {
	fmt.Fprintf(e, "%s\n", title)
	if e.err == nil {
		e.err = Table(e, header, rows)
	}
	fmt.Fprintln(e)
}

// writeAmbiguous says how many lines were skipped as ambiguous, if any.
func writeAmbiguous(ew *errWriter, r *Replay) {
	if r.Ambiguous > 0 {
		fmt.Fprintf(ew, "%s skipped: client text on both sides of the address (never guessed).\n", Count(int(r.Ambiguous), "ambiguous line", "ambiguous lines"))
	}
}
