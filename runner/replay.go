package runner

import (
	"context"
	"strings"
	"time"

	"logjail/analyze"
	"logjail/analyze/journal"
	"logjail/config"
	"logjail/report"
)

// ReplayOptions say what a replay reads and how it judges it.
type ReplayOptions struct {
	// Files are the log files, plain or gzip, in any order.
	Files []string
	// Jails names the jails to run (enabled or not); none: every enabled
	// jail.
	Jails []string
	// Sets are what-if overrides, KEY=VALUE, applied to every selected
	// jail; with them the report compares with the configured policy.
	Sets []string
	// From and To bound the failures counted; zero: no bound.
	From, To time.Time
	// Ref is the reference for year-less dates; zero: each file's
	// modification time.
	Ref time.Time
	// Progress, when set, hears how many bytes (journal: entries) were
	// read.
	Progress func(int64)
	// Journal, when set, is read instead of Files, anew for each pass,
	// each jail with its journal match; Notice hears its warnings.
	Journal *journal.Source
	Notice  func(string)
}

// Replay runs the selected jails over historical files and returns the
// report. cfg is the configuration the overrides are applied to; base,
// needed only with Sets, is a second copy of it as configured, which
// judges the same failures: in the same pass, unless an override changes
// what a filter finds (mode), which takes a second pass.
func Replay(ctx context.Context, cfg, base *config.Config, o ReplayOptions) (*report.Replay, error) {
	jails, err := replayJails(cfg, o.Jails, o.Sets)
	if err != nil {
		return nil, err
	}
	ao := analyze.ReplayOptions{From: o.From, To: o.To, Ref: o.Ref, Progress: o.Progress, Jails: analyzeJails(jails, cfg.History)}
	var second []analyze.ReplayJail
	if len(o.Sets) > 0 {
		baseJails, err := replayJails(base, o.Jails, nil)
		if err != nil {
			return nil, err
		}
		second = analyzeJails(baseJails, base.History)
		if sameFilters(ao.Jails, second) {
			for i := range ao.Jails {
				ao.Jails[i].Compare = second[i].Policy
			}
			second = nil
		}
	}
	st, err := replayOnce(ctx, cfg, o, ao)
	if err != nil {
		return nil, err
	}
	rep := report.NewReplay(st, ao.Jails, time.Local)
	if len(o.Sets) > 0 {
		configured := st.CompareBans
		if second != nil {
			ao.Jails, ao.Progress = second, nil
			cst, err := replayOnce(ctx, cfg, o, ao)
			if err != nil {
				return nil, err
			}
			configured = cst.Bans
		}
		report.CompareWhatIf(rep, configured, o.Sets)
	}
	return rep, nil
}

// replayOnce runs one pass over the files, or the journal, read anew.
func replayOnce(ctx context.Context, cfg *config.Config, o ReplayOptions, ao analyze.ReplayOptions) (*analyze.ReplayStats, error) {
	if o.Journal == nil {
		return analyze.Replay(ctx, o.Files, ao)
	}
	rec, err := journal.NewRecords(ctx, o.Journal, journalMatches(cfg, ao.Jails))
	if err != nil {
		return nil, &UsageError{err.Error()}
	}
	defer rec.Close()
	ao.Records = []analyze.RecordSource{rec}
	st, err := analyze.Replay(ctx, nil, ao)
	if err != nil {
		return nil, err
	}
	res := rec.Result()
	if o.Notice != nil {
		for _, w := range append(res.Warnings, res.Notices...) {
			o.Notice(w)
		}
	}
	return st, nil
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

// analyzeJails gives the engine each jail's filter and policy.
func analyzeJails(jails []*config.Jail, history time.Duration) []analyze.ReplayJail {
	out := make([]analyze.ReplayJail, len(jails))
	for i, j := range jails {
		out[i] = analyze.ReplayJail{Name: j.Name, Filter: j.Filter, Mode: j.Mode, Policy: Policy(j, history)}
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
// Its errors are *UsageError.
func replayJails(cfg *config.Config, names, sets []string) ([]*config.Jail, error) {
	if err := cfg.Select(names...); err != nil {
		return nil, usagef("replay: %v", err)
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, usagef("replay: --set %q: want KEY=VALUE", s)
		}
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return nil, usagef("replay: %v", err)
		}
	}
	jails := cfg.Jails
	if len(names) == 0 {
		jails = cfg.Enabled()
	}
	if len(jails) == 0 {
		return nil, usagef("replay: no jail is enabled in %s; name one with --jail", cfg.File)
	}
	return jails, nil
}
