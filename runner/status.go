package runner

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"logjail/analyze"
	"logjail/config"
	"logjail/enforce"
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
		bans, err := tx.Bans()
		if err != nil {
			return err
		}
		for _, b := range bans {
			if b.ActiveAt(now) {
				doc.Bans = append(doc.Bans, banJSON(b))
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
