package runner

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"logjail/analyze"
	"logjail/config"
	"logjail/enforce"
	"logjail/state"
)

// ManualJail holds the bans given by hand without a jail: every port,
// until unbanned.
const ManualJail = config.ManualJail

// ledger changes the bans of one state transaction by the rules that
// run, ban, unban (and the fleet) share: a ban is never shortened, every
// ban decided counts as an offense and goes into the history, and the
// digest outbox hears of it only when the digest is on. In a dry run it
// writes nothing and answers as if it had.
type ledger struct {
	tx  *state.Tx
	now time.Time
	// write is false in a dry run.
	write bool
	// events says whether changes go to the digest outbox: only for a
	// digest that will be sent.
	events bool
	// put are the bans put in this transaction (a dry run cannot read
	// them back).
	put map[trackKey]state.Ban
	// bans and history wait for flush, which writes them in key order
	// (bbolt appends keys that come in order: `ban -` of 100,000).
	bans, history []*state.Ban
	// tracks are the tracks countOffense changed, written by flush in
	// one PutTracks (one at a time, they were a fifth of `ban -`);
	// pending finds them until then.
	tracks  []state.TrackUpdate
	pending map[trackKey]*analyze.Track
	// unique says that no two bans of the transaction share a jail and
	// prefix (Ban's targets): pending is not needed, and tracks comes
	// from slab.
	unique bool
	slab   []analyze.Track
	// fleet is the fleet section: this host's own bans, and its unbans
	// by hand, in a jail that takes part go to the fleet outbox (bans
	// at flush).
	fleet *config.Fleet
	share []*state.Ban
	// merging is set while the fleet's own changes are merged: they are
	// not sent back.
	merging bool
	// cfg gives the jails' policies (pols, by jail), which say when the
	// offense tracks written go stale.
	cfg  *config.Config
	pols map[string]*analyze.Policy
	// heldAll, when set, are all the bans the state held when the
	// transaction began (read once: `ban -` looks up every target),
	// found by heldAt.
	heldAll  []state.Ban
	heldAt   map[trackKey]int
	heldJail string
	// last is the track read last from the state (nil: none there), for
	// countOffense after offense: one lookup per ban, not two.
	last struct {
		k  trackKey
		tr *analyze.Track
		ok bool
	}
}

// expiry returns when a track of jail goes stale under the jail's
// policy, or state.ExpiryNow (the next purge judges it) for a jail not
// configured.
func (l *ledger) expiry(jail string, tr *analyze.Track) int64 {
	pol, ok := l.pols[jail]
	if !ok {
		if j := l.cfg.Jail(jail); j != nil {
			pol = Policy(j, l.cfg.History)
		}
		if l.pols == nil {
			l.pols = map[string]*analyze.Policy{}
		}
		l.pols[jail] = pol
	}
	if pol == nil {
		return state.ExpiryNow
	}
	return tr.Expiry(pol)
}

// shares reports whether a change of jail made here goes to the fleet.
func (l *ledger) shares(jail string) bool {
	return l.write && !l.merging && l.fleet.TakesPart(jail)
}

// flush writes the bans and history entries recorded.
func (l *ledger) flush() error {
	if err := l.tx.PutBans(l.bans); err != nil {
		return err
	}
	if err := l.tx.AddHistories(l.history); err != nil {
		return err
	}
	// Indexed by when they go stale, as a run indexes its tracks: the
	// run after `ban -` of 100,000 does not judge them all again.
	for i := range l.tracks {
		if u := &l.tracks[i]; u.Track != nil {
			u.Expires = l.expiry(u.Jail, u.Track)
		}
	}
	if err := l.tx.PutTracks(l.tracks); err != nil {
		return err
	}
	for _, b := range l.share {
		if err := l.tx.AddFleetEntry(state.FleetEntry{Kind: state.FleetBan, Ban: b}); err != nil {
			return err
		}
	}
	l.share = l.share[:0]
	l.bans, l.history, l.tracks = l.bans[:0], l.history[:0], l.tracks[:0]
	clear(l.pending)
	return nil
}

// newLedger starts a ledger for about n bans.
func newLedger(tx *state.Tx, cfg *config.Config, now time.Time, dry bool, n int) *ledger {
	l := &ledger{tx: tx, now: now, write: !dry, events: !dry && cfg.Digest.Enabled(), put: map[trackKey]state.Ban{}, fleet: &cfg.Fleet, cfg: cfg}
	if l.write {
		l.bans, l.history = make([]*state.Ban, 0, n), make([]*state.Ban, 0, n)
	}
	return l
}

// held returns the ban the state holds for jail and prefix, this
// transaction's own included.
func (l *ledger) held(k trackKey) (*state.Ban, bool, error) {
	if b, ok := l.put[k]; ok {
		c := b // on the heap only when found (b itself was, at every call: 16 MB for ban - of 100,000)
		return &c, true, nil
	}
	if l.heldAll != nil && k.jail == l.heldJail {
		i, ok := l.heldAt[k]
		if !ok {
			return nil, false, nil
		}
		return &l.heldAll[i], true, nil
	}
	b, err := l.tx.Ban(k.jail, k.key)
	return b, b != nil, err
}

// outlasts reports whether a held ban old is kept over a new one b: it
// is permanent, or ends after b's end.
func outlasts(old, b *state.Ban) bool {
	return old.Permanent() || (!b.Permanent() && old.Until.After(b.Until))
}

// outlasting returns the ban held for b's jail and prefix when it
// outlasts b, so that b changes nothing; else nil.
func (l *ledger) outlasting(b *state.Ban) (*state.Ban, error) {
	old, ok, err := l.held(trackKey{b.Jail, b.Prefix})
	if err != nil || !ok || !outlasts(old, b) {
		return nil, err
	}
	return old, nil
}

// record records a ban decided by the policy: its history entry and
// digest event, and the ban itself unless the ban held for the same jail
// and prefix outlasts it. It returns whether b holds now; a ban that is
// over already (decided from old lines) is history only.
func (l *ledger) record(b state.Ban) (bool, error) {
	p := &b
	if err := l.log(p); err != nil {
		return false, err
	}
	if !b.Permanent() && !b.Until.After(l.now) {
		return false, nil
	}
	if old, err := l.outlasting(p); err != nil || old != nil {
		return false, err
	}
	l.hold(p)
	return true, nil
}

// log writes a ban's history entry and, with the digest on, its event.
func (l *ledger) log(b *state.Ban) error {
	if l.write {
		l.history = append(l.history, b)
	}
	if l.events {
		return l.tx.AddEvent(&state.Event{Kind: state.EventBan, Time: l.now, Ban: b})
	}
	return nil
}

// hold puts a ban in place of the one held for its jail and prefix.
func (l *ledger) hold(b *state.Ban) {
	if l.put != nil {
		l.put[trackKey{b.Jail, b.Prefix}] = *b
	}
	if l.write {
		l.bans = append(l.bans, b)
	}
	if b.Origin == "" && l.shares(b.Jail) {
		l.share = append(l.share, b)
	}
}

// lift removes a held ban: one that ended, or, byHand, one an operator
// lifted early, after which the address's failures count afresh.
func (l *ledger) lift(b state.Ban, byHand bool) error {
	if l.write {
		if err := l.tx.DeleteBan(b.Jail, b.Prefix); err != nil {
			return err
		}
	}
	if byHand && l.shares(b.Jail) {
		if err := l.tx.AddFleetEntry(state.FleetEntry{Kind: state.FleetUnban, Jail: b.Jail, Prefix: b.Prefix, At: l.now}); err != nil {
			return err
		}
	}
	if byHand && l.write {
		l.last.ok = false // the track may change here
		now := l.now.UnixNano()
		if tr, err := l.tx.Track(b.Jail, b.Prefix); err != nil {
			return err
		} else if tr != nil && tr.BannedAt(now) {
			tr.BanUntil = now
			if tr.BanUntil <= tr.BanStart {
				tr.BanStart = tr.BanUntil - 1
			}
			if err := l.tx.PutTrack(b.Jail, b.Prefix, tr); err != nil {
				return err
			}
		}
	}
	if !l.events {
		return nil
	}
	e := &state.Event{Kind: state.EventUnban, Time: l.now, Ban: &b}
	if byHand {
		e.Text = "by hand"
	}
	return l.tx.AddEvent(e)
}

// track returns the track of jail and prefix, a new one when there is
// none.
func track(tx *state.Tx, jail string, p netip.Prefix) (*analyze.Track, error) {
	tr, err := tx.Track(jail, p)
	if tr == nil && err == nil {
		tr = &analyze.Track{}
	}
	return tr, err
}

// offense counts a ban given by hand in a configured jail on its track,
// as the policy counts its own, so that bantime_increment grows over
// both: it returns the ban's offense number.
func (l *ledger) offense(j *config.Jail, history time.Duration, p netip.Prefix) (int, error) {
	tr, err := l.track(j.Name, p)
	if err != nil {
		return 0, err
	}
	if tr == nil {
		return 1, nil // no track: a first offense
	}
	if tr.BanStart != 0 && tr.BanStart <= l.now.UnixNano()-int64(history) {
		return 1, nil // the last ban is out of history
	}
	return tr.Offenses + 1, nil
}

// countOffense writes the hand ban b as the track's last ban. The ban
// clears the track's failure window, as a ban the policy decides does.
func (l *ledger) countOffense(b state.Ban) error {
	if !l.write {
		return nil
	}
	k := trackKey{b.Jail, b.Prefix}
	var tr *analyze.Track
	pending := false
	if !l.unique {
		tr, pending = l.pending[k]
	}
	if !pending {
		if l.last.ok && l.last.k == k {
			tr = l.last.tr // offense read it just now
		} else {
			var err error
			if tr, err = l.tx.Track(b.Jail, b.Prefix); err != nil {
				return err
			}
		}
		l.last.ok = false
		u := state.TrackUpdate{Jail: b.Jail, Key: b.Prefix, Track: tr, New: tr == nil} // Expires: at flush
		if tr == nil {
			tr = l.newTrack()
			u.Track = tr
		}
		l.tracks = append(l.tracks, u)
		if !l.unique { // else no other ban of the transaction looks it up
			if l.pending == nil {
				l.pending = map[trackKey]*analyze.Track{}
			}
			l.pending[k] = tr
		}
	}
	tr.Offenses, tr.Failures = b.Offense, nil
	tr.BanStart, tr.BanUntil = b.Start.UnixNano(), 0
	if !b.Permanent() {
		tr.BanUntil = b.Until.UnixNano()
	}
	return nil
}

// track returns the track of jail and prefix, this transaction's
// pending one first; nil when there is none.
func (l *ledger) track(jail string, p netip.Prefix) (*analyze.Track, error) {
	k := trackKey{jail, p}
	if tr, ok := l.pending[k]; ok && !l.unique {
		return tr, nil
	}
	tr, err := l.tx.Track(jail, p)
	if err != nil {
		return nil, err
	}
	l.last.k, l.last.tr, l.last.ok = k, tr, true
	return tr, nil
}

// BanOptions say what a ban by hand bans.
type BanOptions struct {
	Config *config.Config
	Now    time.Time
	// Jail is the jail the bans belong to; "" or ManualJail: every port,
	// until unbanned.
	Jail string
	// For is how long the bans last, as config.ParseBanTime reads it
	// ("1h", "permanent"); "" is the jail's bantime for the ban's offense.
	For string
	// Targets are the addresses and networks to ban.
	Targets []netip.Prefix
	// Guard refuses what the firewall would refuse; nil checks nothing
	// (tests).
	Guard *enforce.Guard
	// Firewall enforces the bans before Ban returns.
	Firewall enforce.Backend

	// checked is what Check found, so that Ban does not check every
	// target with the guard a second time.
	checked *banCheck
}

type banCheck struct {
	jail      *config.Jail
	d         time.Duration
	permanent bool
}

// BanResult is what a ban by hand did.
type BanResult struct {
	// Banned counts the bans recorded; Kept are the targets a longer ban
	// held already covers, as that ban.
	Banned int
	Kept   []state.Ban
	// Firewall is what the firewall step did.
	Firewall enforce.Diff
	// FleetErr says the bans could not be sent to the fleet now: they
	// wait in the outbox for the next run.
	FleetErr error
}

// Check validates the options without touching anything: the jail is
// configured, For reads, and the guard refuses no target (see Ban). A
// caller checks before it opens the state, so that a refused ban creates
// not even the state file; Ban then relies on that check (options
// changed after it are not checked again).
func (o *BanOptions) Check() (j *config.Jail, d time.Duration, permanent bool, err error) {
	if c := o.checked; c != nil {
		return c.jail, c.d, c.permanent, nil
	}
	cfg := o.Config
	if o.Jail != "" && o.Jail != ManualJail {
		if j = cfg.Jail(o.Jail); j == nil {
			return nil, 0, false, usagef("ban: no jail %q in %s", o.Jail, cfg.File)
		}
	}
	permanent = true
	if o.For != "" {
		if d, permanent, err = config.ParseBanTime(o.For); err != nil {
			return nil, 0, false, usagef("ban: --for %q: %v", o.For, err)
		}
	}
	for _, p := range o.Targets {
		if err := guardCheck(cfg, o.Guard, p); err != nil {
			return nil, 0, false, err
		}
	}
	o.checked = &banCheck{j, d, permanent}
	return j, d, permanent, nil
}

// Ban bans addresses or networks by hand. Every target is checked first:
// one the guard refuses (it overlaps loopback, an address of the
// machine, or any jail's ignoreip) refuses the whole command with a
// *UsageError naming it and why, before anything is written. The bans
// then go through the rules every ban goes through (see record), and the
// firewall is brought to the state. A firewall error leaves the bans in
// the state, for the next run to enforce.
func Ban(ctx context.Context, db *state.DB, o BanOptions) (*BanResult, error) {
	cfg := o.Config
	j, d, permanent, err := o.Check()
	if err != nil {
		return nil, err
	}
	jail, given := ManualJail, o.For != ""
	if j != nil {
		jail = j.Name
	}
	res := &BanResult{}
	targets := uniq(o.Targets)
	var (
		stage *staging
		early = -1 // the new bans an early stage counted on
	)
	st, stager := o.Firewall.(enforce.Stager)
	if stager && (given || j == nil) {
		// Every new ban lasts as long (no offense decides): the
		// firewall's change is known from the bans held, and staged
		// while the transaction decides, writes and commits.
		var held []state.Ban
		if err := db.View(func(tx *state.Tx) (err error) { held, err = tx.Bans(); return err }); err != nil {
			return nil, err
		}
		var until time.Time
		if !permanent {
			until = o.Now.Add(d)
		}
		var jails []enforce.JailSpec
		var desired []enforce.Ban
		jails, desired, early = predictDesired(cfg, held, jail, targets, until, o.Now)
		stage = startStage(ctx, st, jails, desired, o.Now)
	}
	err = db.Update(func(tx *state.Tx) error {
		// The targets are unique: the ledger need not remember what it
		// put (a map of 100,000 bans for ban -).
		l := newLedger(tx, cfg, o.Now, false, len(targets))
		l.put = nil
		if j != nil {
			l.tracks = make([]state.TrackUpdate, 0, len(targets))
			l.unique, l.slab = true, make([]analyze.Track, 0, len(targets))
		}
		if err := l.readHeld(jail); err != nil {
			return err
		}
		// The bans recorded, in one allocation (never grown: pointers
		// into it are kept).
		bans := make([]state.Ban, 0, len(targets))
		for _, p := range targets {
			// Made in place in bans (taken back if kept): a ban per
			// target on the heap was a fifth of this loop.
			bans = append(bans, state.Ban{Jail: jail, Prefix: p, Start: o.Now, Offense: 1, Manual: true})
			b := &bans[len(bans)-1]
			if j != nil {
				n, err := l.offense(j, cfg.History, p)
				if err != nil {
					return err
				}
				b.Offense = n
				if !given {
					d, permanent = j.BanDuration(n)
				}
			}
			if !permanent {
				b.Until = o.Now.Add(d)
			}
			// A ban held already that lasts longer stays as it is: the
			// request changes nothing (no history, event or offense).
			if old, err := l.outlasting(b); err != nil {
				return err
			} else if old != nil {
				res.Kept = append(res.Kept, *old)
				bans = bans[:len(bans)-1]
				continue
			}
			if err := l.log(b); err != nil {
				return err
			}
			l.hold(b)
			res.Banned++
			if j != nil {
				if err := l.countOffense(*b); err != nil {
					return err
				}
			}
		}
		if stage != nil && len(l.bans) != early {
			// Not what the early stage counted on (never seen): stage
			// anew from what the transaction decided.
			if err := stage.drop(ctx); err != nil {
				return err
			}
			stage = nil
		}
		// The firewall's change is staged while the bans are written
		// and committed; it takes effect after the commit.
		if stager && stage == nil {
			jails, desired, err := l.desiredAfter()
			if err != nil {
				return err
			}
			stage = startStage(ctx, st, jails, desired, o.Now)
		}
		return l.flush()
	})
	if err != nil {
		if stage != nil {
			err = errors.Join(err, stage.drop(ctx))
		}
		return nil, err
	}
	res.FleetErr = sendFleet(ctx, db, cfg, o.Now)
	if stage != nil {
		res.Firewall, err = stage.finish(ctx, cfg, db, o.Firewall, o.Now)
	} else {
		res.Firewall, err = enforceState(ctx, cfg, db, o.Firewall, o.Now)
	}
	return res, err
}

// uniq returns ps without repeats, in their first order: ps itself when
// nothing repeats. The prefixes seen are found through an open-addressing
// table of indexes into ps (1 MiB for `ban -` of 100,000, where a map of
// prefixes took 9 MiB and a tenth of the command).
func uniq(ps []netip.Prefix) []netip.Prefix {
	size, shift := 1, 64
	for size < 2*len(ps) {
		size, shift = size<<1, shift-1
	}
	slots := make([]int32, size) // index+1 into ps; 0: free
	var out []netip.Prefix       // made at the first repeat
	for i, p := range ps {
		a := p.Addr().As16()
		// Mixed so that every bit of the address reaches the top bits,
		// which pick the slot.
		h := binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(a[8:]) ^ uint64(p.Bits())
		h ^= h >> 31
		h *= 0xff51afd7ed558ccd
		h ^= h >> 29
		dup := false
		for j := h >> shift & uint64(size-1); ; j = (j + 1) & uint64(size-1) {
			k := slots[j]
			if k == 0 {
				slots[j] = int32(i + 1)
				break
			}
			if ps[k-1] == p {
				dup = true
				break
			}
		}
		switch {
		case dup && out == nil:
			out = append(make([]netip.Prefix, 0, len(ps)-1), ps[:i]...)
		case !dup && out != nil:
			out = append(out, p)
		}
	}
	if out == nil {
		return ps
	}
	return out
}

// guardCheck refuses a ban the guard refuses, with one line naming the
// target, why, and the jails whose ignoreip it overlaps.
func guardCheck(cfg *config.Config, g *enforce.Guard, p netip.Prefix) error {
	if g == nil {
		return nil
	}
	why := g.Check(p)
	if why == "" {
		return nil
	}
	if !strings.HasPrefix(why, "overlaps never-ban range") {
		return usagef("ban: refused %s: it %s", enforce.Addr(p), why)
	}
	// A never-ban range is some jails' ignoreip: name them.
	var jails []string
	for _, j := range cfg.Jails {
		for _, n := range j.IgnoreIP {
			if n.Overlaps(p) {
				jails = append(jails, j.Name)
				break
			}
		}
	}
	if len(jails) > 0 {
		why += fmt.Sprintf(" (ignoreip of %s %s)", plural(len(jails), "jail", "jails"), strings.Join(jails, ", "))
	}
	return usagef("ban: refused %s: it %s", enforce.Addr(p), why)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// UnbanOptions say what an unban by hand lifts.
type UnbanOptions struct {
	Config *config.Config
	Now    time.Time
	// Jail limits the unban to one jail; "" is every jail.
	Jail string
	// All lifts every ban (of Jail); else the bans of Targets.
	All     bool
	Targets []netip.Prefix
	// Firewall is brought to the state before Unban returns.
	Firewall enforce.Backend
}

// UnbanResult is what an unban did.
type UnbanResult struct {
	// Lifted are the bans removed; Missing the targets no ban matched.
	Lifted   []state.Ban
	Missing  []netip.Prefix
	Firewall enforce.Diff
	// FleetErr: as BanResult's.
	FleetErr error
}

// Unban lifts bans by hand: the bans of the targets (or all), in one
// jail or every one; the addresses' failures count afresh from now.
func Unban(ctx context.Context, db *state.DB, o UnbanOptions) (*UnbanResult, error) {
	want := map[netip.Prefix]bool{}
	for _, p := range o.Targets {
		want[p] = true
	}
	res := &UnbanResult{}
	found := map[netip.Prefix]bool{}
	err := db.Update(func(tx *state.Tx) error {
		l := newLedger(tx, o.Config, o.Now, false, 0)
		bans, err := tx.Bans()
		if err != nil {
			return err
		}
		for _, b := range bans {
			if (o.Jail != "" && b.Jail != o.Jail) || (!o.All && !want[b.Prefix]) {
				continue
			}
			found[b.Prefix] = true
			if err := l.lift(b, true); err != nil {
				return err
			}
			res.Lifted = append(res.Lifted, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range o.Targets {
		if !found[p] && !slices.Contains(res.Missing, p) {
			res.Missing = append(res.Missing, p)
		}
	}
	res.FleetErr = sendFleet(ctx, db, o.Config, o.Now)
	res.Firewall, err = enforceState(ctx, o.Config, db, o.Firewall, o.Now)
	return res, err
}

// enforceState brings the firewall to the state's bans after a change by
// hand; its error says that the state keeps them.
func enforceState(ctx context.Context, cfg *config.Config, db *state.DB, fw enforce.Backend, now time.Time) (enforce.Diff, error) {
	if fw == nil {
		return enforce.Diff{}, nil
	}
	d, err := Enforce(ctx, cfg, db, fw, now)
	if err != nil {
		return d, stateKeeps(err)
	}
	return d, nil
}

// stateKeeps says that a firewall error leaves the bans in the state.
func stateKeeps(err error) error {
	return fmt.Errorf("%w (the state keeps the bans; the next run retries)", err)
}

// newTrack returns a new empty track, from the slab while it lasts.
func (l *ledger) newTrack() *analyze.Track {
	if len(l.slab) < cap(l.slab) {
		l.slab = l.slab[:len(l.slab)+1]
		return &l.slab[len(l.slab)-1]
	}
	return &analyze.Track{}
}
