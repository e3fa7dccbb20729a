package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"logjail/config"
	"logjail/enforce"
	"logjail/state"
)

// ActiveBans returns the bans the state holds that are active at now.
func ActiveBans(db *state.DB, now time.Time) ([]state.Ban, error) {
	var active []state.Ban
	err := db.View(func(tx *state.Tx) error {
		bans, err := tx.Bans()
		// In place: 100,000 bans are not copied twice.
		active = bans[:0]
		for _, b := range bans {
			if b.ActiveAt(now) {
				active = append(active, b)
			}
		}
		return err
	})
	return active, err
}

// Enforce brings the firewall to the bans the state holds active at now.
// It is what `ban` and `unban` do after changing the state, and what
// `run` does after its commit.
func Enforce(ctx context.Context, cfg *config.Config, db *state.DB, fw enforce.Backend, now time.Time) (enforce.Diff, error) {
	active, err := ActiveBans(db, now)
	if err != nil {
		return enforce.Diff{}, err
	}
	return fw.Apply(ctx, JailSpecs(cfg, active), Desired(active), now)
}

// Flush removes what every kernel backend made (for uninstalling: any of
// them may have run before the configuration changed). newBackend builds
// a backend of a kind with the configured options. A backend whose tool
// is not installed made nothing to remove, unless it is the configured
// one. It returns the kinds flushed, and every error.
func Flush(ctx context.Context, cfg *config.Config, newBackend func(kind string) (enforce.Backend, error)) ([]string, error) {
	var flushed []string
	var errs []error
	for _, kind := range []string{"iptables", "ipset", "nftables"} {
		fw, err := newBackend(kind)
		if err == nil {
			err = fw.Flush(ctx)
		}
		switch {
		case err == nil:
			flushed = append(flushed, kind)
		case kind == cfg.Firewall.Backend || !errors.Is(err, enforce.ErrToolMissing):
			errs = append(errs, err)
		}
	}
	return flushed, errors.Join(errs...)
}

// FullCompareEvery is how long a run may trust a kernel backend's cheap
// check (enforce.Checker) instead of comparing every member: a run
// whose bans did not change since the last apply compares the kernel's
// counts (ipset, iptables) or ruleset generation (nftables) with the
// mark that apply left, and reads and compares everything when they
// differ, and at least once in this time.
const FullCompareEvery = 15 * time.Minute

// summaryMark returns the firewall mark the summary keeps, when it was
// taken by a backend of kind and a full comparison is not due at now.
func summaryMark(s state.BanSummary, kind string, now time.Time) (*enforce.Mark, bool) {
	if len(s.Firewall) == 0 {
		return nil, false
	}
	var m enforce.Mark
	if err := json.Unmarshal(s.Firewall, &m); err != nil || m.Kind != kind {
		return nil, false
	}
	if now.Before(m.Full) || now.Sub(m.Full) >= FullCompareEvery {
		return nil, false
	}
	return &m, true
}

// firewallStep brings the firewall to the run's active bans, or in a
// dry run plans it. A quiet run with a kernel backend first checks the
// kernel against the summary's mark: when it still shows what the last
// apply left, the step is done without reading a ban; otherwise the
// bans are read and compared in full. After a full apply the backend's
// new mark goes into the summary (keepMark).
func firewallStep(ctx context.Context, db *state.DB, o Options, res *Result) {
	fail := func(err error) {
		res.FirewallErr = err
		if !o.DryRun {
			// a dry run says it in its plan (reading needs root)
			res.Problems = append(res.Problems, err)
		}
	}
	if res.mark != nil {
		jails := slices.Values(slices.Sorted(maps.Keys(res.ActiveCount)))
		if c, ok := o.Firewall.(enforce.Checker); ok {
			if same, err := c.Check(ctx, jailSpecsOf(o.Config, jails), *res.mark); err == nil && same {
				res.Firewall, res.FirewallChecked = &enforce.Diff{}, true
				return
			}
		}
		active, err := ActiveBans(db, o.Now)
		if err != nil {
			fail(err)
			return
		}
		res.Active = active
	}
	step := o.Firewall.Apply
	if o.DryRun {
		step = o.Firewall.Plan // the same plan, without the writes
	}
	d, err := step(ctx, JailSpecs(o.Config, res.Active), Desired(res.Active), o.Now)
	if err != nil {
		fail(err)
		return
	}
	res.Firewall = &d
	if !o.DryRun && o.Firewall.Kind() != "none" {
		if err := keepMark(db, o, d); err != nil {
			res.Problems = append(res.Problems, err)
		}
	}
}

// keepMark puts the mark of a full apply, and whether it refused a ban,
// into the ban summary, if the summary still describes the bans applied.
func keepMark(db *state.DB, o Options, d enforce.Diff) error {
	var mark json.RawMessage
	if d.Mark != nil {
		var err error
		if mark, err = json.Marshal(d.Mark); err != nil {
			return err
		}
	}
	refused := len(d.Refused) > 0
	var print uint64
	if o.Guard != nil {
		print = o.Guard.Fingerprint()
	}
	current := func(tx *state.Tx) (state.BanSummary, bool, error) {
		s, ok, err := tx.BanSummary()
		ok = ok && s.Holds(o.Now, print) && (!bytes.Equal(s.Firewall, mark) || s.Refused != refused)
		return s, ok, err
	}
	// Read first: a run that changes nothing writes nothing.
	var needed bool
	if err := db.View(func(tx *state.Tx) (err error) { _, needed, err = current(tx); return err }); err != nil || !needed {
		return err
	}
	return db.Update(func(tx *state.Tx) error {
		s, ok, err := current(tx)
		if err != nil || !ok {
			return err
		}
		s.Firewall, s.Refused = mark, refused
		return tx.SetBanSummary(s)
	})
}
