package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"logjail/enforce"
	"logjail/report"
	"logjail/runner"
)

func runCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "the cron job: read new log lines, ban and unban, send the digest when due",
		Description: "Reads the log lines written since the last run, bans and unbans, brings the firewall\n" +
			"to the bans active now and mails the digest when it is due. It prints nothing on success\n" +
			"unless --verbose; bans the firewall's guard refuses (loopback, this machine's addresses,\n" +
			"any jail's ignoreip) are said on stderr at every run.\n\n" +
			"--dry-run runs the same code with every write skipped: it prints the bans and unbans a\n" +
			"run would make now and the firewall's plan (what it would add and remove, after the\n" +
			"guard, de-duplication and folding into covering networks); the state file, the\n" +
			"firewall and the mail stay untouched.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the bans, unbans and firewall changes a run would make now; change nothing"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json (with --dry-run)"},
		},
		Action: func(c *cli.Context) error {
			return runRun(c.Context, e, runOptions{dryRun: c.Bool("dry-run"), format: c.String("format")})
		},
	}
}

type runOptions struct {
	dryRun bool
	format string
}

func runRun(ctx context.Context, e *env, o runOptions) error {
	if o.format != "table" && o.format != "json" {
		return usagef("run: --format %q: want table or json", o.format)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	db, closeDB, err := e.state(cfg, o.dryRun)
	if err != nil {
		return err
	}
	defer closeDB()
	fw, err := e.firewall(cfg)
	if err != nil {
		return err
	}
	if e.verbose {
		printNotes(e, cfg)
	}
	ro := runner.Options{Config: cfg, Now: e.now, DryRun: o.dryRun, Firewall: fw, Guard: e.guard(cfg), Host: e.host()}
	if !o.dryRun {
		ro.Mailer = e.mailer(cfg)
	}
	// A run's heap is its entries, which only grow until it writes them:
	// collecting at every doubling was a tenth of a run over a million
	// new addresses, for 1% less peak memory (bench/RESULTS.md). GOGC,
	// when set, still decides.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(300))
	}
	started := time.Now()
	res, err := runner.Run(ctx, db, ro)
	if err != nil {
		if !o.dryRun {
			if merr := runner.WriteMetrics(db, cfg, nil, time.Since(started), e.now); merr != nil {
				fmt.Fprintf(e.stderr, "logjail: %s\n", merr)
			}
		}
		return stateError(err)
	}
	if !o.dryRun {
		if err := runner.WriteMetrics(db, cfg, res, time.Since(started), e.now); err != nil {
			res.Problems = append(res.Problems, err)
			fmt.Fprintf(e.stderr, "logjail: %s\n", err)
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "logjail: %s\n", w)
	}
	if o.dryRun {
		if err := printDryRun(e.stdout, o.format, res, fw.Kind()); err != nil {
			return err
		}
	} else if e.verbose {
		printRunSummary(e.stdout, res)
	}
	// Said at every run, unlike a warning: bans that are decided but not
	// enforced, or an outbox that grows, need the operator now.
	if !o.dryRun && res.Firewall != nil {
		printRefused(e.stderr, res.Firewall.Refused)
	}
	for _, err := range []error{res.FirewallErr, res.DigestErr, res.FleetErr} {
		if err != nil && !o.dryRun {
			fmt.Fprintf(e.stderr, "logjail: %s\n", err)
		}
	}
	if !res.Succeeded() {
		for _, p := range res.Problems {
			if p != res.DigestErr && p != res.FirewallErr && p != res.FleetErr && !slices.Contains(res.Warnings, p.Error()) && e.verbose {
				fmt.Fprintf(e.stderr, "logjail: %s\n", p)
			}
		}
		return errSilent
	}
	return nil
}

// printRefused says, one line each, which held bans the firewall's guard
// keeps out.
func printRefused(w io.Writer, refused []enforce.Refusal) {
	for _, r := range refused {
		fmt.Fprintf(w, "logjail: not enforced: %s\n", r)
	}
}

func printDryRun(w io.Writer, format string, res *runner.Result, kind string) error {
	doc, ended := runner.DryRun(res, kind)
	if format == "json" {
		return report.JSON(w, doc)
	}
	fmt.Fprintf(w, "Dry run at %s: %d to ban, %d to unban, %d active after the run.\n", doc.Now, len(doc.Ban), len(doc.Unban), doc.Active)
	if ended > 0 {
		fmt.Fprintf(w, "(%d more bans decided from older lines have already ended: history only.)\n", ended)
	}
	if len(doc.Ban)+len(doc.Unban) > 0 {
		rows := [][]string{}
		for _, b := range doc.Ban {
			rows = append(rows, []string{"ban", b.Jail, b.IP, b.Start, untilText(b.Until), fmt.Sprint(b.Failures), fmt.Sprint(b.Offense)})
		}
		for _, u := range doc.Unban {
			rows = append(rows, []string{"unban", u.Jail, u.IP, "", "", "", ""})
		}
		fmt.Fprintln(w)
		if err := report.Table(w, []string{"ACTION", "JAIL", "ADDRESS", "START", "UNTIL", "FAILURES", "OFFENSE"}, rows); err != nil {
			return err
		}
	}
	f := doc.Firewall
	if f.Error != "" {
		fmt.Fprintf(w, "\nFirewall (%s) not read: %s\n", f.Backend, f.Error)
		return nil
	}
	fmt.Fprintf(w, "\nFirewall (%s): would add %d and remove %d entries.\n", f.Backend, len(f.Add), len(f.Remove))
	rows := [][]string{}
	for _, a := range f.Add {
		rows = append(rows, []string{"add", a})
	}
	for _, r := range f.Remove {
		rows = append(rows, []string{"remove", r})
	}
	for _, u := range f.Update {
		rows = append(rows, []string{"update", u})
	}
	for _, r := range f.Refused {
		rows = append(rows, []string{"refused", r})
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return report.Table(w, []string{"FIREWALL", "JAIL AND ADDRESS"}, rows)
}

// untilText prints a ban's end: permanent when it has none.
func untilText(until *string) string {
	if until == nil {
		return "permanent"
	}
	return *until
}

func printRunSummary(w io.Writer, res *runner.Result) {
	names := make([]string, 0, len(res.Jails))
	for name := range res.Jails {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := res.Jails[name]
		if s.Journals > 0 {
			fmt.Fprintf(w, "jail %s: %d files, %d journals, %d lines and entries, %d failures, %d bans\n", name, s.Files, s.Journals, s.Lines, s.Failures, s.Bans)
			continue
		}
		fmt.Fprintf(w, "jail %s: %d files, %d lines, %d failures, %d bans\n", name, s.Files, s.Lines, s.Failures, s.Bans)
	}
	for _, b := range res.Bans {
		fmt.Fprintf(w, "ban %s %s (offense %d, %d failures)\n", b.Jail, enforce.Addr(b.Prefix), b.Offense, b.Failures)
	}
	for _, b := range res.Unbans {
		fmt.Fprintf(w, "unban %s %s\n", b.Jail, enforce.Addr(b.Prefix))
	}
	if res.FirewallChecked {
		fmt.Fprintf(w, "firewall: as the last apply left it (checked; compared in full at least every %s)\n", runner.FullCompareEvery)
	} else if res.Firewall != nil {
		fmt.Fprintf(w, "firewall: %d added, %d removed\n", len(res.Firewall.Added), len(res.Firewall.Removed))
	}
	if f := res.Fleet; f != nil {
		fmt.Fprintf(w, "fleet: %d sent, %d bans taken, %d kept, %d refused, %d lifted, %d decided from the fleet's counts\n",
			f.Sent, f.Taken, f.Kept, f.Refused, f.Lifted, len(f.Decided))
	}
	active := 0
	for _, n := range res.ActiveCount {
		active += n
	}
	fmt.Fprintf(w, "%d bans active\n", active)
	if d := res.Digest; d != nil && d.Sent {
		fmt.Fprintf(w, "digest: %s mailed\n", report.Count(d.Events, "event", "events"))
	} else if d != nil && d.NotDue != "" {
		fmt.Fprintf(w, "digest: not due: %s\n", d.NotDue)
	}
}
