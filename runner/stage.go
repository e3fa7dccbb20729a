package runner

import (
	"context"
	"maps"
	"net/netip"
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

// startStage stages the firewall change that brings the kernel to
// desired, the state's active bans once the transaction commits.
func startStage(ctx context.Context, st enforce.Stager, jails []enforce.JailSpec, desired []enforce.Ban, now time.Time) *staging {
	s := &staging{done: make(chan struct{})}
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

// desiredAfter returns the firewall's jails and bans once the ledger's
// bans are written: the bans the state holds active at now, each
// replaced by the ledger's ban of the same jail and prefix, and the
// ledger's new ones (as JailSpecs and Desired would give them).
func (l *ledger) desiredAfter() ([]enforce.JailSpec, []enforce.Ban, error) {
	held := l.heldAll
	if held == nil {
		var err error
		if held, err = l.tx.Bans(); err != nil {
			return nil, nil, err
		}
	}
	var replaced map[trackKey]bool
	if len(held) > 0 && len(l.bans) > 0 {
		replaced = make(map[trackKey]bool, len(l.bans))
		for _, b := range l.bans {
			replaced[trackKey{b.Jail, b.Prefix}] = true
		}
	}
	desired := make([]enforce.Ban, 0, len(held)+len(l.bans))
	jails := map[string]bool{}
	add := func(b *state.Ban) {
		if b.ActiveAt(l.now) {
			desired = append(desired, enforce.Ban{Jail: b.Jail, Prefix: b.Prefix, Until: b.Until})
			jails[b.Jail] = true
		}
	}
	for i := range held {
		if b := &held[i]; !replaced[trackKey{b.Jail, b.Prefix}] {
			add(b)
		}
	}
	for _, b := range l.bans {
		add(b)
	}
	return jailSpecsOf(l.cfg, maps.Keys(jails)), desired, nil
}

// readHeld reads every ban the state holds, once, for held to find those
// of jail without a lookup each (and desiredAfter to reuse).
func (l *ledger) readHeld(jail string) error {
	all, err := l.tx.Bans()
	if err != nil {
		return err
	}
	l.setHeld(all, jail)
	return nil
}

func (l *ledger) setHeld(all []state.Ban, jail string) {
	l.heldAll, l.heldAt, l.heldJail = all, map[trackKey]int{}, jail
	if l.heldAll == nil {
		l.heldAll = []state.Ban{}
	}
	for i, b := range all {
		if b.Jail == jail {
			l.heldAt[trackKey{b.Jail, b.Prefix}] = i
		}
	}
}

// predictDesired returns the firewall's jails and bans after a ban by
// hand of targets in jail, each new ban ending at until (zero: never),
// by the ledger's rule (a ban held that outlasts it stays), from the bans
// held; and how many new bans that makes, which the transaction checks.
func predictDesired(cfg *config.Config, held []state.Ban, jail string, targets []netip.Prefix, until, now time.Time) ([]enforce.JailSpec, []enforce.Ban, int) {
	l := &ledger{now: now, cfg: cfg}
	l.setHeld(held, jail)
	desired := make([]enforce.Ban, 0, len(held)+len(targets))
	jails := map[string]bool{}
	replaced := make([]bool, len(held))
	n := 0
	for _, p := range targets {
		b := state.Ban{Jail: jail, Prefix: p, Start: now, Until: until}
		if i, ok := l.heldAt[trackKey{jail, p}]; ok {
			if outlasts(&held[i], &b) {
				continue // kept, with the ban held
			}
			replaced[i] = true
		}
		desired = append(desired, enforce.Ban{Jail: jail, Prefix: p, Until: until})
		jails[jail] = true
		n++
	}
	for i := range held {
		if b := &held[i]; !replaced[i] && b.ActiveAt(now) {
			desired = append(desired, enforce.Ban{Jail: b.Jail, Prefix: b.Prefix, Until: b.Until})
			jails[b.Jail] = true
		}
	}
	return jailSpecsOf(cfg, maps.Keys(jails)), desired, n
}
