package runner

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"logjail/analyze"
	"logjail/config"
	"logjail/enforce"
	"logjail/fleet"
	"logjail/report"
	"logjail/state"
)

// Status reads what `status` shows from the state: the last run, the
// bans active at now, the failures counting towards a ban at now, where
// each source was read up to, and how the digest fares.
func Status(db *state.DB, cfg *config.Config, now time.Time) (*report.StatusJSON, error) {
	doc := &report.StatusJSON{Bans: []report.BanJSON{}, Failures: []report.FailureJSON{}, Files: []report.FileJSON{}, Journals: []report.JournalJSON{}}
	err := db.View(func(tx *state.Tx) error {
		if t, ok := tx.LastRun(); ok {
			s := report.Time(t)
			doc.LastRun = &s
		}
		doc.Digest = DigestStatus(tx, cfg)
		if cfg.Fleet.Enabled() {
			s, err := tx.FleetStatus()
			if err != nil {
				return err
			}
			f := &report.FleetStatusJSON{Host: cfg.Fleet.Host, Failures: s.Failures, LastError: s.Err, Pending: tx.FleetPending()}
			if !s.LastOK.IsZero() {
				t := report.Time(s.LastOK)
				f.LastOK = &t
			}
			if s.Failures > 0 {
				t := report.Time(s.Since)
				f.FailingSince = &t
			}
			doc.Fleet = f
		}
		bans, err := tx.Bans()
		if err != nil {
			return err
		}
		for _, b := range bans {
			if b.ActiveAt(now) {
				bj := banJSON(b)
				if cfg.Fleet.Enabled() {
					bj.Origin = cmp.Or(b.Origin, cfg.Fleet.Host)
				}
				doc.Bans = append(doc.Bans, bj)
			}
		}
		err = tx.ForEachTrack(func(jail string, key netip.Prefix, tr *analyze.Track) error {
			j := cfg.Jail(jail)
			if j == nil {
				return nil
			}
			if in := tr.Window(j.FindTime, now); len(in) > 0 {
				doc.Failures = append(doc.Failures, report.FailureJSON{Jail: jail, IP: enforce.Addr(key), Count: len(in),
					First: report.Time(time.Unix(0, in[0])), Last: report.Time(time.Unix(0, in[len(in)-1]))})
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Files(func(jail, path string, data []byte) error {
			var rec analyze.FileState
			if err := json.Unmarshal(data, &rec); err != nil {
				return fmt.Errorf("state: file entry %s %s: %w", jail, path, err)
			}
			doc.Files = append(doc.Files, report.FileJSON{Jail: jail, Path: path, Offset: rec.Offset, Inode: rec.Inode})
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Journals(func(jail, source string, data []byte) error {
			var rec JournalRecord
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
		return nil, err
	}
	sort.Slice(doc.Bans, func(i, j int) bool { return doc.Bans[i].Jail+doc.Bans[i].IP < doc.Bans[j].Jail+doc.Bans[j].IP })
	return doc, nil
}

// DigestStatus says how the digest fares: when the last one went, what
// waits, and, while deliveries fail, since when, why and when the next
// try is.
func DigestStatus(tx *state.Tx, cfg *config.Config) *report.DigestStatusJSON {
	d := &report.DigestStatusJSON{Enabled: cfg.Digest.Enabled(), Pending: tx.EventCount()}
	if t, ok := tx.LastDigest(); ok {
		s := report.Time(t)
		d.LastSent = &s
	}
	if f, ok := tx.DigestFailure(); ok {
		since, last, next := report.Time(f.Since), report.Time(f.Last), report.Time(RetryAt(f, cfg.Digest.Every))
		d.Failures, d.FailingSince, d.LastFailure, d.LastError = f.Count, &since, &last, f.Err
		if d.Enabled && d.Pending > 0 {
			d.NextTry = &next
		}
	}
	return d
}

// banJSON is a held ban as status and the dry run print it.
func banJSON(b state.Ban) report.BanJSON {
	return report.BanJSON{Jail: b.Jail, IP: enforce.Addr(b.Prefix), Start: report.Time(b.Start),
		Until: report.Until(b.Until), Failures: b.Failures, Offense: b.Offense}
}

// FleetView turns the fleet's overview into the document `status
// --fleet` prints.
func FleetView(ov *fleet.Overview, now time.Time) *report.FleetViewJSON {
	doc := &report.FleetViewJSON{Now: report.Time(now), Hosts: []report.FleetHostJSON{}, Bans: []report.BanJSON{}, Failing: []report.FleetFailingJSON{}}
	for _, b := range ov.Bans {
		bj := banJSON(b)
		bj.Origin = b.Origin
		doc.Bans = append(doc.Bans, bj)
		if n := len(doc.Hosts); n == 0 || doc.Hosts[n-1].Host != b.Origin {
			doc.Hosts = append(doc.Hosts, report.FleetHostJSON{Host: b.Origin})
		}
		doc.Hosts[len(doc.Hosts)-1].Bans++
	}
	for _, f := range ov.Failing {
		doc.Failing = append(doc.Failing, report.FleetFailingJSON{Jail: f.Jail, IP: enforce.Addr(f.Prefix), Hosts: f.Hosts, Failures: f.Failures, Last: report.Time(f.Last)})
	}
	return doc
}
