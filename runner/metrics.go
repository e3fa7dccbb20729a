package runner

import (
	"time"

	"logjail/config"
	"logjail/report"
	"logjail/state"
)

// Succeeded reports whether every step of the run worked: nothing is
// left for the next run to retry.
func (res *Result) Succeeded() bool { return len(res.Problems) == 0 }

// WriteMetrics writes the run's Prometheus textfile to cfg.MetricsFile
// when it is set. res nil is a run that failed before its end (nothing
// kept); it keeps the time of the last success from the file. took is
// the run's wall time.
func WriteMetrics(db *state.DB, cfg *config.Config, res *Result, took time.Duration, now time.Time) error {
	if cfg.MetricsFile == "" {
		return nil
	}
	m := &report.Metrics{Jails: map[string]report.JailMetrics{}, Duration: took, LastSuccess: report.LastSuccess(cfg.MetricsFile)}
	if cfg.Digest.Enabled() {
		err := db.View(func(tx *state.Tx) error {
			d := DigestStatus(tx, cfg)
			m.Digest = &report.DigestMetrics{Failures: d.Failures, Pending: d.Pending}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if cfg.Fleet.Enabled() {
		err := db.View(func(tx *state.Tx) error {
			s, err := tx.FleetStatus()
			m.Fleet = &report.FleetMetrics{Failures: s.Failures, Pending: tx.FleetPending()}
			return err
		})
		if err != nil {
			return err
		}
		if res != nil && res.Fleet != nil {
			m.Fleet.Taken = res.Fleet.Taken
		}
	}
	for _, j := range cfg.Enabled() {
		m.Jails[j.Name] = report.JailMetrics{}
	}
	if res != nil {
		for name, s := range res.Jails {
			j := cfg.Jail(name)
			m.Jails[name] = report.JailMetrics{Lines: s.Lines, Failures: s.Failures, Bans: s.Bans,
				Journal:     s.Journals > 0 || j != nil && j.Journal != nil,
				JournalLost: s.JournalLost, JournalSuppressed: s.JournalSuppressed}
		}
		count := func(jail string, f func(*report.JailMetrics)) {
			jm := m.Jails[jail]
			f(&jm)
			m.Jails[jail] = jm
		}
		for _, b := range res.Active {
			count(b.Jail, func(jm *report.JailMetrics) { jm.Active++ })
		}
		if res.Firewall != nil {
			for _, r := range res.Firewall.Refused {
				count(r.Ban.Jail, func(jm *report.JailMetrics) { jm.Refused++ })
			}
		}
		if res.Succeeded() {
			m.Success = now
		}
	}
	return report.WriteMetrics(cfg.MetricsFile, m)
}
