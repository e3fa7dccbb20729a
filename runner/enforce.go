package runner

import (
	"context"
	"errors"
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
