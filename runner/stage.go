package runner

import (
	"context"
	"time"

	"logjail/config"
	"logjail/enforce"
	"logjail/state"
)

// staging is a firewall change prepared while the state commits the bans
// it enforces (enforce.Stager): `ban -` of 100,000 addresses fills the
// backend's staging sets beside its transaction. Nothing the firewall
// blocks changes before the commit; finish applies the change after it,
// drop abandons it when the commit failed.
type staging struct {
	done   chan struct{}
	staged enforce.Staged
	err    error
}

// startStage stages the firewall change that brings the kernel to the
// bans active (the state's once the transaction commits).
func startStage(ctx context.Context, st enforce.Stager, cfg *config.Config, active []state.Ban, now time.Time) *staging {
	s := &staging{done: make(chan struct{})}
	jails, desired := JailSpecs(cfg, active), Desired(active)
	go func() {
		defer close(s.done)
		s.staged, s.err = st.Stage(ctx, jails, desired, now)
	}()
	return s
}

// finish applies the staged change after the commit. A change that could
// not be staged is made afresh from the state, as without staging.
func (s *staging) finish(ctx context.Context, cfg *config.Config, db *state.DB, fw enforce.Backend, now time.Time) (enforce.Diff, error) {
	<-s.done
	if s.err != nil {
		return enforceState(ctx, cfg, db, fw, now)
	}
	d, err := s.staged.Apply(ctx)
	if err != nil {
		return d, stateKeeps(err)
	}
	return d, nil
}

// drop abandons the staged change: the state did not take the bans.
func (s *staging) drop(ctx context.Context) error {
	<-s.done
	if s.err != nil {
		return nil // nothing staged
	}
	return s.staged.Drop(ctx)
}

// activeAfter returns the bans active at now once the ledger's bans are
// written: those the state holds, each replaced by the ledger's ban of the
// same jail and prefix, and the ledger's new ones.
func (l *ledger) activeAfter() ([]state.Ban, error) {
	held, err := l.tx.Bans()
	if err != nil {
		return nil, err
	}
	active := held[:0]
	for _, b := range held {
		if b.ActiveAt(l.now) {
			active = append(active, b)
		}
	}
	if len(active) > 0 && len(l.bans) > 0 {
		at := make(map[trackKey]int, len(active))
		for i, b := range active {
			at[trackKey{b.Jail, b.Prefix}] = i
		}
		replaced := make([]bool, len(active))
		for _, b := range l.bans {
			if i, ok := at[trackKey{b.Jail, b.Prefix}]; ok {
				replaced[i] = true
			}
		}
		kept := active[:0]
		for i, b := range active {
			if !replaced[i] {
				kept = append(kept, b)
			}
		}
		active = kept
	}
	for _, b := range l.bans {
		if b.ActiveAt(l.now) {
			active = append(active, *b)
		}
	}
	return active, nil
}
