package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"logjail/config"
	"logjail/enforce"
	"logjail/report"
	"logjail/runner"
	"logjail/state"
)

func runCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "the cron job: read new log lines, ban and unban, send the digest when due",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the bans and unbans a run would make now; change nothing"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json (with --dry-run)"},
		},
		Action: func(c *cli.Context) error {
			return runRun(c.Context, g, runOptions{dryRun: c.Bool("dry-run"), format: c.String("format")})
		},
	}
}

type runOptions struct {
	dryRun bool
	format string
}

func runRun(ctx context.Context, g *globals, o runOptions) error {
	if o.format != "table" && o.format != "json" {
		return usagef("run: --format %q: want table or json", o.format)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	db, cleanup, err := openState(cfg, o.dryRun)
	if err != nil {
		return err
	}
	defer cleanup()
	fw, err := firewallFor(cfg)
	if err != nil {
		return err
	}
	if g.verbose {
		printNotes(g, cfg)
	}
	host := hostName()
	var mailer report.Mailer
	if cfg.Digest.Enabled() && !o.dryRun {
		mailer = report.NewMailer(&cfg.Digest, host)
	}
	started := time.Now()
	res, err := runner.Run(ctx, db, runner.Options{Config: cfg, Now: g.now, DryRun: o.dryRun, Firewall: fw, Mailer: mailer, Host: host})
	if err != nil {
		writeMetrics(g, cfg, db, nil, started, o.dryRun)
		return stateError(err)
	}
	if err := writeMetrics(g, cfg, db, res, started, o.dryRun); err != nil {
		res.Problems = append(res.Problems, err)
		fmt.Fprintf(g.stderr, "logjail: %s\n", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(g.stderr, "logjail: %s\n", w)
	}
	if o.dryRun {
		if err := printDryRun(ctx, g.stdout, o.format, res, cfg, fw); err != nil {
			return err
		}
	} else if g.verbose {
		printRunSummary(g.stdout, res)
	}
	// Said at every run, unlike a warning: bans that are decided but not
	// enforced, or an outbox that grows, need the operator now.
	for _, err := range []error{res.FirewallErr, res.DigestErr} {
		if err != nil {
			fmt.Fprintf(g.stderr, "logjail: %s\n", err)
		}
	}
	if len(res.Problems) > 0 {
		for _, p := range res.Problems {
			if p != res.DigestErr && p != res.FirewallErr && !slices.Contains(res.Warnings, p.Error()) && g.verbose {
				fmt.Fprintf(g.stderr, "logjail: %s\n", p)
			}
		}
		return errSilent
	}
	return nil
}

// openState opens the state file: for writing, or read-only for a dry run,
// which also works before any run has created the file (an empty
// temporary state stands in).
func openState(cfg *config.Config, readOnly bool) (*state.DB, func(), error) {
	db, err := state.Open(cfg.State, state.Options{Timeout: cfg.LockTimeout, ReadOnly: readOnly})
	if err == nil {
		return db, func() { db.Close() }, nil
	}
	if !readOnly || !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, stateError(err)
	}
	dir, err := os.MkdirTemp("", "logjail-dry-run-")
	if err != nil {
		return nil, nil, err
	}
	db, err = state.Open(filepath.Join(dir, "state.db"), state.Options{Timeout: cfg.LockTimeout})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, stateError(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }, nil
}

// newFirewall builds the configured backend; ignoreip of every jail is
// never banned, whatever the state says.
func newFirewall(cfg *config.Config) (enforce.Backend, error) {
	return newFirewallKind(cfg, cfg.Firewall.Backend)
}

// newFirewallKind builds a backend of the given kind with the configured
// options. LOGJAIL_NETNS names a network namespace to act in (tests and
// containers); unset, logjail acts in its own.
func newFirewallKind(cfg *config.Config, kind string) (enforce.Backend, error) {
	opts := enforce.Options{BlockType: cfg.Firewall.BlockType, MaxElem: cfg.Firewall.MaxElem, NetNS: os.Getenv("LOGJAIL_NETNS")}
	for _, j := range cfg.Jails {
		opts.Never = append(opts.Never, j.IgnoreIP...)
	}
	return enforce.New(kind, opts)
}

func printDryRun(ctx context.Context, w io.Writer, format string, res *runner.Result, cfg *config.Config, fw enforce.Backend) error {
	doc := report.DryRunJSON{Now: report.Time(res.Now), Ban: []report.BanJSON{}, Unban: []report.UnbanJSON{}, Active: len(res.Active)}
	ended := 0
	for _, b := range res.Bans {
		if !b.Permanent() && !b.Until.After(res.Now) {
			ended++ // decided from old lines, over already: history only
			continue
		}
		doc.Ban = append(doc.Ban, report.BanJSON{Jail: b.Jail, IP: report.IP(b.Prefix), Start: report.Time(b.Start),
			Until: report.Until(b.Until), Failures: b.Failures, Offense: b.Offense})
	}
	for _, b := range res.Unbans {
		doc.Unban = append(doc.Unban, report.UnbanJSON{Jail: b.Jail, IP: report.IP(b.Prefix)})
	}
	if fw != nil {
		doc.Firewall = firewallPreview(ctx, fw, res)
	}
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
			until := "permanent"
			if b.Until != nil {
				until = *b.Until
			}
			rows = append(rows, []string{"ban", b.Jail, b.IP, b.Start, until, fmt.Sprint(b.Failures), fmt.Sprint(b.Offense)})
		}
		for _, u := range doc.Unban {
			rows = append(rows, []string{"unban", u.Jail, u.IP, "", "", "", ""})
		}
		fmt.Fprintln(w)
		if err := report.Table(w, []string{"ACTION", "JAIL", "ADDRESS", "START", "UNTIL", "FAILURES", "OFFENSE"}, rows); err != nil {
			return err
		}
	}
	if f := doc.Firewall; f != nil {
		if f.Error != "" {
			fmt.Fprintf(w, "\nFirewall (%s) not read: %s\n", f.Backend, f.Error)
		} else {
			fmt.Fprintf(w, "\nFirewall (%s): would add %d and remove %d entries.\n", f.Backend, len(f.Add), len(f.Remove))
		}
	}
	return nil
}

// firewallPreview compares the firewall as it is with the bans a run
// would hold, without changing it. Reading needs root; a non-root dry run
// says so instead.
func firewallPreview(ctx context.Context, fw enforce.Backend, res *runner.Result) *report.FirewallJSON {
	f := &report.FirewallJSON{Backend: fw.Kind(), Add: []string{}, Remove: []string{}}
	actual, err := fw.Actual(ctx, res.Now)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	have := map[string]bool{}
	for _, b := range actual {
		have[b.Jail+" "+enforce.Addr(b.Prefix)] = true
	}
	want := map[string]bool{}
	for _, b := range res.Active {
		k := b.Jail + " " + report.IP(b.Prefix)
		want[k] = true
		if !have[k] {
			f.Add = append(f.Add, k)
		}
	}
	for k := range have {
		if !want[k] {
			f.Remove = append(f.Remove, k)
		}
	}
	return f
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
		fmt.Fprintf(w, "ban %s %s (offense %d, %d failures)\n", b.Jail, report.IP(b.Prefix), b.Offense, b.Failures)
	}
	for _, b := range res.Unbans {
		fmt.Fprintf(w, "unban %s %s\n", b.Jail, report.IP(b.Prefix))
	}
	if res.Firewall != nil {
		fmt.Fprintf(w, "firewall: %d added, %d removed\n", len(res.Firewall.Added), len(res.Firewall.Removed))
	}
	fmt.Fprintf(w, "%d bans active\n", len(res.Active))
	if d := res.Digest; d != nil && d.Sent {
		fmt.Fprintf(w, "digest: %s mailed\n", report.Count(d.Events, "event", "events"))
	} else if d != nil && d.NotDue != "" {
		fmt.Fprintf(w, "digest: not due: %s\n", d.NotDue)
	}
}

// writeMetrics writes the Prometheus textfile when metrics_file is set
// (never for a dry run). res nil means the run failed.
func writeMetrics(g *globals, cfg *config.Config, db *state.DB, res *runner.Result, started time.Time, dry bool) error {
	if cfg.MetricsFile == "" || dry {
		return nil
	}
	m := &report.Metrics{Jails: map[string]report.JailMetrics{}, Duration: time.Since(started), LastSuccess: report.LastSuccess(cfg.MetricsFile)}
	if cfg.Digest.Enabled() {
		db.View(func(tx *state.Tx) error {
			d := digestStatus(tx, cfg)
			m.Digest = &report.DigestMetrics{Failures: d.Failures, Pending: d.Pending}
			return nil
		})
	}
	for _, j := range cfg.Enabled() {
		m.Jails[j.Name] = report.JailMetrics{}
	}
	if res != nil {
		for name, s := range res.Jails {
			m.Jails[name] = report.JailMetrics{Lines: s.Lines, Failures: s.Failures, Bans: s.Bans,
				Journal:     s.Journals > 0 || cfg.Jail(name) != nil && cfg.Jail(name).Journal != nil,
				JournalLost: s.JournalLost, JournalSuppressed: s.JournalSuppressed}
		}
		for _, b := range res.Active {
			jm := m.Jails[b.Jail]
			jm.Active++
			m.Jails[b.Jail] = jm
		}
		if len(res.Problems) == 0 {
			m.Success = g.now
		}
	}
	return report.WriteMetrics(cfg.MetricsFile, m)
}
