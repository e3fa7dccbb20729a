package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// JailMetrics are one jail's counts in a run.
type JailMetrics struct {
	Lines, Failures, Bans int64
	Active                int
	// Refused counts the bans held but refused by the firewall's guard.
	Refused int
	// Journal is set for a jail that reads the journal; JournalLost and
	// JournalSuppressed are its totals of entries vacuumed before they
	// were read and of messages journald's rate limit dropped.
	Journal                        bool
	JournalLost, JournalSuppressed int64
}

// Metrics is what a run reports to Prometheus' textfile collector.
type Metrics struct {
	Jails    map[string]JailMetrics
	Duration time.Duration
	// Success is the time of this run if it succeeded; zero keeps the
	// last success time given in LastSuccess.
	Success     time.Time
	LastSuccess time.Time
	// Digest is the digest's state after the run; nil when it is off.
	Digest *DigestMetrics
	// Fleet is the fleet exchange's state after the run; nil when the
	// host takes no part.
	Fleet *FleetMetrics
}

// FleetMetrics are the fleet exchange's failures and backlog.
type FleetMetrics struct {
	// Failures counts the exchanges that failed in a row (0 once one
	// succeeds); Pending the changes waiting in the fleet outbox.
	Failures, Pending int
	// Taken counts the fleet's bans the last run recorded.
	Taken int
}

// DigestMetrics are the digest's backlog and failures.
type DigestMetrics struct {
	// Failures counts the deliveries that failed in a row (0 once the
	// server accepts one); Pending the events waiting in the outbox.
	Failures, Pending int
}

// WriteMetrics writes m to path in the Prometheus text format, atomically
// (a temporary file in the same directory, then a rename), so the node
// exporter never reads half a file.
func WriteMetrics(path string, m *Metrics) error {
	var b bytes.Buffer
	names := make([]string, 0, len(m.Jails))
	for n := range m.Jails {
		names = append(names, n)
	}
	sort.Strings(names)
	family := func(name, typ, help string, val func(j JailMetrics) float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, n := range names {
			fmt.Fprintf(&b, "%s{jail=%q} %g\n", name, n, val(m.Jails[n]))
		}
	}
	family("logjail_lines_read", "gauge", "Log lines read by the last run.", func(j JailMetrics) float64 { return float64(j.Lines) })
	family("logjail_failures", "gauge", "Authentication failures found by the last run.", func(j JailMetrics) float64 { return float64(j.Failures) })
	family("logjail_bans_issued", "gauge", "Bans decided by the last run.", func(j JailMetrics) float64 { return float64(j.Bans) })
	family("logjail_bans_active", "gauge", "Bans active after the last run.", func(j JailMetrics) float64 { return float64(j.Active) })
	family("logjail_bans_refused", "gauge", "Bans held but refused by the firewall's guard in the last run.", func(j JailMetrics) float64 { return float64(j.Refused) })
	var journals []string
	for _, n := range names {
		if m.Jails[n].Journal {
			journals = append(journals, n)
		}
	}
	if len(journals) > 0 {
		jfamily := func(name, help string, val func(j JailMetrics) int64) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
			for _, n := range journals {
				fmt.Fprintf(&b, "%s{jail=%q} %d\n", name, n, val(m.Jails[n]))
			}
		}
		jfamily("logjail_journal_entries_lost_total", "Journal entries vacuumed before logjail read them.", func(j JailMetrics) int64 { return j.JournalLost })
		jfamily("logjail_journal_messages_suppressed_total", "Messages of the jail's units dropped by journald's rate limit.", func(j JailMetrics) int64 { return j.JournalSuppressed })
	}
	fmt.Fprintf(&b, "# HELP logjail_run_duration_seconds Wall time of the last run.\n# TYPE logjail_run_duration_seconds gauge\nlogjail_run_duration_seconds %g\n", m.Duration.Seconds())
	last := m.LastSuccess
	if !m.Success.IsZero() {
		last = m.Success
	}
	if d := m.Digest; d != nil {
		fmt.Fprintf(&b, "# HELP logjail_digest_failures Digest deliveries that failed in a row; 0 once the server accepts one.\n# TYPE logjail_digest_failures gauge\nlogjail_digest_failures %d\n", d.Failures)
		fmt.Fprintf(&b, "# HELP logjail_digest_pending_events Events waiting in the outbox for the next digest.\n# TYPE logjail_digest_pending_events gauge\nlogjail_digest_pending_events %d\n", d.Pending)
	}
	if f := m.Fleet; f != nil {
		fmt.Fprintf(&b, "# HELP logjail_fleet_failures Fleet exchanges that failed in a row; 0 once one succeeds.\n# TYPE logjail_fleet_failures gauge\nlogjail_fleet_failures %d\n", f.Failures)
		fmt.Fprintf(&b, "# HELP logjail_fleet_pending Changes waiting in the fleet outbox for the next exchange.\n# TYPE logjail_fleet_pending gauge\nlogjail_fleet_pending %d\n", f.Pending)
		fmt.Fprintf(&b, "# HELP logjail_fleet_bans_taken Bans from the fleet recorded by the last run.\n# TYPE logjail_fleet_bans_taken gauge\nlogjail_fleet_bans_taken %d\n", f.Taken)
	}
	if !last.IsZero() {
		fmt.Fprintf(&b, "# HELP logjail_last_success_timestamp_seconds Time of the last run that succeeded.\n# TYPE logjail_last_success_timestamp_seconds gauge\nlogjail_last_success_timestamp_seconds %d\n", last.Unix())
	}
	return WriteFile("metrics", path, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// LastSuccess reads the last success time from an earlier metrics file,
// so that a failed run keeps reporting when the last good one was.
func LastSuccess(path string) time.Time {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	const key = "\nlogjail_last_success_timestamp_seconds "
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return time.Time{}
	}
	var sec int64
	fmt.Sscan(string(data[i+len(key):]), &sec)
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}
