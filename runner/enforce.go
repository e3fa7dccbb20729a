package runner

import (
	"context"
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
