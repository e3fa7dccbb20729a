package runner

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"logjail/config"
	"logjail/fleet"
	"logjail/remote"
	"logjail/state"
)

// FleetOutcome is what one exchange with the fleet did.
type FleetOutcome struct {
	// Sent counts the outbox entries the server accepted.
	Sent int
	// Taken are the fleet's bans recorded here; Kept those a longer ban
	// held covers; Refused those the guard or the jail's ignoreip keep
	// out; Skipped those of jails this host has not.
	Taken, Kept, Refused, Skipped int
	// Capped says fleet.max_bans cut the bans read (the rest come next
	// run).
	Capped bool
	// Lifted are the bans lifted by the fleet's unbans.
	Lifted int
	// Decided are the bans decided from the fleet's failure counts.
	Decided []state.Ban
}

// FleetHost is this host's name in the fleet: fleet.host, or the
// machine's.
func FleetHost(cfg *config.Config, machine string) string {
	if cfg.Fleet.Host != "" {
		return cfg.Fleet.Host
	}
	return machine
}

// FleetJails lists the jails whose bans this host exchanges: the enabled
// jails and manual, as fleet.jails narrows them.
func FleetJails(cfg *config.Config) []string {
	var out []string
	for _, j := range cfg.Enabled() {
		if cfg.Fleet.TakesPart(j.Name) {
			out = append(out, j.Name)
		}
	}
	if cfg.Fleet.TakesPart(ManualJail) {
		out = append(out, ManualJail)
	}
	return out
}

// syncFleet sends the fleet outbox and merges what the fleet answers,
// after the run's own transaction committed: the local bans hold
// whatever the server does. A failure is one problem of the run (exit
// 1); the outbox stays for the next run.
func syncFleet(ctx context.Context, db *state.DB, o Options, res *Result) {
	err := exchange(ctx, db, o, res)
	if err == nil {
		return
	}
	res.FleetErr = err
	res.Problems = append(res.Problems, err)
	if uerr := recordFleetFailure(db, o.Now, err); uerr != nil {
		res.Problems = append(res.Problems, uerr)
	}
}

// recordFleetFailure counts a failed exchange with the fleet in the
// state, for status and the metrics: since when, how many, the last error.
func recordFleetFailure(db *state.DB, now time.Time, err error) error {
	return db.Update(func(tx *state.Tx) error {
		s, rerr := tx.FleetStatus()
		if rerr != nil {
			return rerr
		}
		if s.Failures == 0 {
			s.Since = now
		}
		s.Failures++
		s.Err = err.Error()
		return tx.SetFleetStatus(s)
	})
}

func exchange(ctx context.Context, db *state.DB, o Options, res *Result) error {
	cfg := o.Config
	req := fleet.Request{Now: o.Now, Jails: FleetJails(cfg), MaxBans: cfg.Fleet.MaxBans}
	if cfg.Fleet.Share == config.ShareFailures {
		for _, j := range cfg.Enabled() {
			if cfg.Fleet.TakesPart(j.Name) {
				req.Counting = append(req.Counting, fleet.Counting{Jail: j.Name, FindTime: j.FindTime, MaxRetry: j.MaxRetry})
				req.Keep = max(req.Keep, 2*j.FindTime+fleet.Bucket)
			}
		}
	}
	err := db.View(func(tx *state.Tx) error {
		var err error
		if req.Send, err = tx.FleetEntries(); err != nil {
			return err
		}
		req.Cursor, err = tx.FleetCursor()
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Fleet.Timeout)
	defer cancel()
	resp, err := remote.Exchange(ctx, &cfg.Fleet, FleetHost(cfg, o.Host), req)
	if err != nil {
		return fmt.Errorf("fleet: %w (banned locally; %d changes kept for the next run)", err, len(req.Send))
	}
	out := &FleetOutcome{Sent: len(req.Send), Capped: resp.Capped}
	err = db.Update(func(tx *state.Tx) error {
		if err := tx.FleetSent(req.Send); err != nil {
			return err
		}
		if err := merge(tx, o, resp, out); err != nil {
			return err
		}
		if err := tx.SetFleetCursor(resp.Cursor); err != nil {
			return err
		}
		if req.Keep > 0 {
			if err := tx.PurgeFleetCounts(fleet.BucketOf(o.Now.Add(-req.Keep))); err != nil {
				return err
			}
		}
		if err := tx.SetFleetStatus(state.FleetStatus{LastOK: o.Now}); err != nil {
			return err
		}
		bans, err := tx.Bans()
		if err != nil {
			return err
		}
		res.Active = res.Active[:0]
		res.ActiveCount = map[string]int{}
		for _, b := range bans {
			if b.ActiveAt(o.Now) {
				res.Active = append(res.Active, b)
				res.ActiveCount[b.Jail]++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Fleet = out
	if out.Capped {
		res.Warnings = append(res.Warnings, fmt.Sprintf("fleet: more than fleet.max_bans (%d) new bans in the fleet: took %d, the rest come with the next runs", cfg.Fleet.MaxBans, out.Taken+out.Kept+out.Refused+out.Skipped))
	}
	return nil
}

// merge records the fleet's answer through the ledger, the owner of
// every ban change, after the guard: a host's ignoreip, loopback and own
// addresses always win over the fleet.
func merge(tx *state.Tx, o Options, resp *fleet.Response, out *FleetOutcome) error {
	cfg := o.Config
	l := newLedger(tx, cfg, o.Now, false, len(resp.Bans))
	l.merging = true
	for _, b := range resp.Bans {
		if b.Jail != ManualJail && cfg.Jail(b.Jail) == nil {
			out.Skipped++
			continue
		}
		if refused(cfg, o, b.Jail, b.Prefix) {
			out.Refused++
			continue
		}
		if old, ok, err := l.held(trackKey{b.Jail, b.Prefix}); err != nil {
			return err
		} else if ok && old.Start.Equal(b.Start) && old.Until.Equal(b.Until) {
			out.Kept++ // the same ban, decided here too from the same counts
			continue
		}
		ok, err := l.record(b)
		if err != nil {
			return err
		}
		if ok {
			out.Taken++
		} else {
			out.Kept++
		}
	}
	// Written before the unbans lift any of them (lift deletes from the
	// state, flush would write them back).
	if err := l.flush(); err != nil {
		return err
	}
	for _, u := range resp.Unbans {
		held, ok, err := l.held(trackKey{u.Jail, u.Prefix})
		if err != nil {
			return err
		}
		if !ok || held.Start.After(u.At) {
			continue
		}
		if err := l.lift(*held, true); err != nil {
			return err
		}
		out.Lifted++
	}
	l.merging = false
	if err := decideFleet(l, o, resp.Counts, out); err != nil {
		return err
	}
	return l.flush()
}

// refused reports a fleet ban this host never takes: the guard refuses
// it, or it overlaps the jail's ignoreip.
func refused(cfg *config.Config, o Options, jail string, p netip.Prefix) bool {
	if o.Guard != nil && o.Guard.Check(p) != "" {
		return true
	}
	if j := cfg.Jail(jail); j != nil {
		return slices.ContainsFunc(j.IgnoreIP, p.Overlaps)
	}
	return false
}

// decideFleet bans the addresses whose fleet failure counts reach
// maxretry within findtime (fleet.Decide), as the policy bans its own:
// the ban starts at the bucket where the count was reached, so every
// host decides the same ban. A track that holds a ban from that start
// on (decided here before, or lifted by hand since) is not banned again.
func decideFleet(l *ledger, o Options, counts []fleet.Count, out *FleetOutcome) error {
	cfg := o.Config
	for i := 0; i < len(counts); {
		k := trackKey{counts[i].Jail, counts[i].Prefix}
		n := i
		for n < len(counts) && counts[n].Jail == k.jail && counts[n].Prefix == k.key {
			n++
		}
		group := counts[i:n]
		i = n
		j := cfg.Jail(k.jail)
		if j == nil || refused(cfg, o, k.jail, k.key) {
			continue
		}
		tr, err := track(l.tx, k.jail, k.key)
		if err != nil {
			return err
		}
		var after time.Time
		if tr.BanUntil != 0 || tr.BanStart != 0 {
			// counts before the last ban (or its early end) are spent
			after = time.Unix(0, max(tr.BanStart, tr.BanUntil))
		}
		start, failures, ok := fleet.Decide(group, j.FindTime, j.MaxRetry, after)
		if !ok || tr.BanStart >= start.UnixNano() {
			continue
		}
		offense, err := l.offense(j, cfg.History, k.key)
		if err != nil {
			return err
		}
		d, permanent := j.BanDuration(offense)
		b := state.Ban{Jail: k.jail, Prefix: k.key, Start: start, Offense: offense, Failures: failures}
		if !permanent {
			b.Until = start.Add(d)
			if !b.Until.After(o.Now) {
				continue // over already: nothing to enforce
			}
		}
		if _, err := l.record(b); err != nil {
			return err
		}
		if err := l.countOffense(b); err != nil {
			return err
		}
		out.Decided = append(out.Decided, b)
	}
	return nil
}

// sendFleet sends the fleet outbox at once after a ban or unban by hand,
// so that the other hosts' next runs apply it; it reads nothing (the
// next run does). Its error says the change waits in the outbox for the
// next run; the exchange's status records it as a run's does.
func sendFleet(ctx context.Context, db *state.DB, cfg *config.Config, now time.Time) error {
	if !cfg.Fleet.Enabled() {
		return nil
	}
	var send []state.FleetEntry
	err := db.View(func(tx *state.Tx) error {
		var err error
		send, err = tx.FleetEntries()
		return err
	})
	if err != nil || len(send) == 0 {
		return err
	}
	xctx, cancel := context.WithTimeout(ctx, cfg.Fleet.Timeout)
	_, err = remote.Exchange(xctx, &cfg.Fleet, FleetHost(cfg, ""), fleet.Request{Now: now, Send: send, SendOnly: true})
	cancel()
	if err != nil {
		err = fmt.Errorf("fleet: %w (kept for the next run to send)", err)
		if uerr := recordFleetFailure(db, now, err); uerr != nil {
			return uerr
		}
		return err
	}
	return db.Update(func(tx *state.Tx) error { return tx.FleetSent(send) })
}
