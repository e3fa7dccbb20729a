package runner

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"net/netip"
	"slices"
	"sort"
	"time"

	"logjail/analyze"
	"logjail/config"
	"logjail/enforce"
	"logjail/fleet"
	"logjail/mail"
	"logjail/state"
)

// Options say what one run does.
type Options struct {
	Config *config.Config
	// Now is the run's time: it decides which bans are active.
	Now time.Time
	// DryRun keeps everything: state, firewall and mail.
	DryRun bool
	// Firewall enforces the bans (in a dry run: plans them); nil leaves
	// the firewall alone.
	Firewall enforce.Backend
	// Guard keeps the policy from deciding a ban the firewall would
	// refuse: failures of addresses it refuses are dropped, like those
	// of ignoreip. Nil checks only the jail's ignoreip.
	Guard *enforce.Guard
	// Mailer sends the digest when it is due; nil sends none.
	Mailer mail.Mailer
	// Host is this machine's name, for the digest.
	Host string
}

// JailStats counts one jail's work in a run.
type JailStats struct {
	Files, Lines, Failures, Bans int64
	// Journals counts the journal sources read; JournalLost and
	// JournalSuppressed are the totals, over every run, of the journal
	// entries vacuumed before they were read and of the messages
	// journald's rate limit dropped (see journal.Result).
	Journals, JournalLost, JournalSuppressed int64
}

// Result is what a run did, or would do in a dry run.
type Result struct {
	Now time.Time
	// Bans are the bans this run decided, in the order decided.
	Bans []state.Ban
	// Unbans are the bans this run lifted because they ended.
	Unbans []state.Ban
	// Active are the bans held after the run that are active at Now;
	// nil when a quiet run did not read them (see ActiveCount).
	Active []state.Ban
	// ActiveCount counts the bans active at Now by jail, whether or not
	// the run read them.
	ActiveCount map[string]int
	// quiet: the run did not read the bans held (nothing changed since
	// the state's ban summary), and skips the firewall step of backend
	// none, which has nothing to plan that the summary does not say. A
	// kernel backend's step then first checks the kernel against mark,
	// the summary's (see firewallStep).
	quiet bool
	mark  *enforce.Mark
	// unchanged: the run changed nothing in the state, and committed
	// nothing (see Run).
	unchanged bool
	Jails     map[string]*JailStats
	// Warnings are new problems, to be printed once.
	Warnings []string
	// Problems are the steps that failed (exit code 1); they are retried
	// by the next run (the digest by the first run after its backoff).
	Problems []error
	// Firewall is what the firewall step changed, or in a dry run
	// would change (nil when skipped or failed); FirewallErr why it
	// failed (also in Problems). Its Refused are bans held but not
	// enforced: said at every run.
	Firewall    *enforce.Diff
	FirewallErr error
	// FirewallChecked says that the firewall step only checked the
	// kernel against the mark of the last apply (no ban changed since,
	// the check passed: see FullCompareEvery), reading no ban.
	FirewallChecked bool
	// Digest is what the digest step did (nil when skipped); DigestErr
	// is its failure, also among Problems.
	Digest    *DigestOutcome
	DigestErr error
	// Fleet is what the exchange with the fleet did (nil when the host
	// takes no part, or in a dry run); FleetErr why it failed (also in
	// Problems: the run banned locally and keeps its fleet outbox).
	Fleet    *FleetOutcome
	FleetErr error
}

// maxUsers bounds the user names kept with a ban.
const maxUsers = 5

// maxOffenders is how many of a run's busiest addresses go into the
// digest outbox.
const maxOffenders = 10

type trackKey struct {
	jail string
	key  netip.Prefix
}

// trackEntry is a track this run counted failures in: it is written back.
// Entries live in blocks (see run.track), their tracks inline: a flood of
// a million new addresses makes a few hundred allocations here, not
// three million objects for the garbage collector to trace. An entry
// takes 96 bytes, its jail and user names numbers (run.names).
type trackEntry struct {
	tr  analyze.Track
	key netip.Prefix
	// n counts the address's failures in this run; a network's
	// (count_prefix6), the failures while it was banned.
	n int32
	// user is the first user name tried (a names number + 1; 0: none);
	// the others are in run.moreUsers.
	user uint32
	jail uint16 // a names number
	// fresh: the state held no track for it.
	fresh bool
}

type run struct {
	ctx context.Context
	o   Options
	// clocks are the newest failure time per jail (see state.Tx.LogClock).
	clocks map[string]time.Time
	tx     *state.Tx
	res    *Result
	// tracks finds an entry's number in blocks, by jail and network.
	tracks map[string]*jailEntries
	names  names
	// moreUsers are the user names an entry met after its first.
	moreUsers map[*trackEntry][]string
	blocks    [][]trackEntry // the entries in the order first met (log time, mostly)
	entries   int32
	times     []int64 // room for new tracks' failure times
	files     []fileSave
	journals  []journalSave
	decided   []state.Ban
	buf       []analyze.Failure
	pols      map[string]*analyze.Policy // by jail; nil for a jail gone
	// refused caches the guard's answers (see guarded).
	refused *guardCache
	// counts are the run's failures per fleet bucket (share: failures).
	counts map[countKey]int
}

type countKey struct {
	trackKey
	bucket int64
}

type fileSave struct {
	jail, key string
	rec       sourceRecord
}

// sourceRecord is what the state keeps per jail and source: the source's
// position (a JSON object, opaque here) and the filter's memory of
// unfinished multi-line attempts (so a run that ends between two lines of
// one sshd attempt loses nothing). Both are kept in one JSON object, the
// context under "Context": the layout of the records of earlier versions,
// whose position was always a file's.
type sourceRecord struct {
	pos     []byte
	context []byte
}

func (r sourceRecord) MarshalJSON() ([]byte, error) {
	if len(r.context) == 0 {
		return r.pos, nil
	}
	obj := bytes.TrimSpace(r.pos)
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("source position %.40q: not a JSON object", r.pos)
	}
	c, err := json.Marshal(r.context)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), obj[:len(obj)-1]...)
	if len(bytes.TrimSpace(obj[1:len(obj)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(append(append(out, `"Context":`...), c...), '}')
	return out, nil
}

func (r *sourceRecord) UnmarshalJSON(data []byte) error {
	r.pos, r.context = append([]byte(nil), data...), nil
	if !bytes.Contains(data, []byte(`"Context"`)) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if c, ok := m["Context"]; ok {
		if err := json.Unmarshal(c, &r.context); err != nil {
			return fmt.Errorf("filter context: %w", err)
		}
		delete(m, "Context")
		pos, err := json.Marshal(m)
		if err != nil {
			return err
		}
		r.pos = pos
	}
	return nil
}

// stateError marks an error of the state file met while reading logs: it
// stops the run, where a log's own error only skips that log.
type stateError struct{ err error }

func (e stateError) Error() string { return e.err.Error() }
func (e stateError) Unwrap() error { return e.err }

// Run carries out one run on an open state file. An error means nothing
// was kept (the state is as before); failed steps that do not stop the
// run are in Result.Problems.
func Run(ctx context.Context, db *state.DB, o Options) (*Result, error) {
	res := &Result{Now: o.Now, Jails: map[string]*JailStats{}}
	work := func(tx *state.Tx) error {
		r := &run{ctx: ctx, o: o, tx: tx, res: res, tracks: map[string]*jailEntries{}, clocks: map[string]time.Time{}, counts: map[countKey]int{}}
		for _, j := range o.Config.Enabled() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.jail(j); err != nil {
				return err
			}
		}
		return r.finish()
	}
	var err error
	if o.DryRun {
		err = db.View(work)
	} else {
		err = db.Update(func(tx *state.Tx) error {
			if err := work(tx); err != nil {
				return err
			}
			// A run that found nothing new changed nothing: it commits
			// nothing (no page written, no fdatasync) and notes its time
			// beside the file; if it cannot, the file records it.
			if !tx.Changed() && db.NoteRun(o.Now) == nil {
				return state.ErrUnchanged
			}
			return tx.SetLastRun(o.Now)
		})
		if errors.Is(err, state.ErrUnchanged) {
			res.unchanged, err = true, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if o.Config.Fleet.Enabled() && !o.DryRun {
		syncFleet(ctx, db, o, res)
	}
	if o.Firewall != nil && (!res.quiet || res.mark != nil) {
		firewallStep(ctx, db, o, res)
	}
	if o.Mailer != nil && !o.DryRun && o.Config.Digest.Enabled() {
		res.Digest, res.DigestErr = SendDigest(ctx, db, DigestOptions{Config: o.Config, Now: o.Now, Host: o.Host, Mailer: o.Mailer})
		if res.DigestErr != nil {
			res.Problems = append(res.Problems, res.DigestErr)
		}
	}
	return res, nil
}

// failure applies one failure to its track, and to its network's.
func (r *run) failure(j *config.Jail, pol *analyze.Policy, f *analyze.Failure) error {
	if !f.Addr.IsValid() || pol.Ignored(f.Addr) {
		return nil // host names are never banned
	}
	if f.Time.After(r.clock(j.Name)) {
		r.clocks[j.Name] = f.Time
	}
	key := pol.Key(f.Addr)
	if r.guarded(key) {
		return nil // never banned: the firewall would refuse it
	}
	var nt *analyze.Track
	net, hasNet := pol.NetKey(f.Addr)
	if hasNet && r.guarded(net) {
		// like a network NetKey refuses: its addresses still count
		net, hasNet = netip.Prefix{}, false
	}
	if hasNet {
		ne, err := r.track(trackKey{j.Name, net})
		if err != nil {
			return err
		}
		nt = &ne.tr
		if nt.BannedAt(f.Time.UnixNano()) {
			// Nothing counts while the network is banned: its addresses
			// need no track (a rotation costs one entry, not one per
			// address); the network counts the failure for the digest.
			ne.n = min(ne.n+1, math.MaxInt32)
			return nil
		}
	}
	k := trackKey{j.Name, key}
	e, err := r.track(k)
	if err != nil {
		return err
	}
	if f.User != "" {
		r.addUser(e, f.User)
	}
	e.n = min(e.n+1, math.MaxInt32)
	if fl := &r.o.Config.Fleet; fl.Share == config.ShareFailures && fl.TakesPart(j.Name) {
		r.counts[countKey{k, fleet.BucketOf(f.Time)}]++
	}
	dec, ok := pol.Fail(&e.tr, k.key, nt, net, f.Time)
	if !ok {
		return nil
	}
	var users []string
	if dec.Key == k.key {
		users = r.users(e) // a network's: its addresses' names are theirs
	}
	b := state.Ban{Jail: j.Name, Prefix: dec.Key, Start: dec.Start, Until: dec.Until,
		Offense: dec.Offense, Failures: dec.Failures, Users: users}
	r.decided = append(r.decided, b)
	r.res.Jails[j.Name].Bans++
	return nil
}

// Entries are allocated blockSize at a time, and new tracks' failure
// times timesSize at a time, timesCap each (a track holds at most
// MaxRetry failures for a moment: more grow by append, alone).
const (
	blockSize = 1024
	timesSize = 8192
	timesCap  = 2
)

// netKey is a network as a map key without pointers: its address's 16
// bytes, its length, and whether it is IPv4.
type netKey struct {
	hi, lo uint64
	bits   int16
	is4    bool
}

func netKeyOf(p netip.Prefix) netKey {
	a := p.Addr().As16()
	return netKey{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), int16(p.Bits()), p.Addr().Is4()}
}

// track returns the entry of k, read from the state the first time. The
// entry stays where it is for the run (blocks never move).
func (r *run) track(k trackKey) (*trackEntry, error) {
	je := r.tracks[k.jail]
	if je == nil {
		id, err := r.names.id(k.jail)
		if err != nil {
			return nil, err
		}
		je = &jailEntries{jail: uint16(id)}
		r.tracks[k.jail] = je
	}
	m := &je.table
	m.grow()
	h := netKeyOf(k.key).hash()
	slot, n, found := m.find(h, func(n int32) bool {
		return r.blocks[n/blockSize][n%blockSize].key == k.key
	})
	if found {
		return &r.blocks[n/blockSize][n%blockSize], nil
	}
	if r.entries == math.MaxInt32 {
		return nil, fmt.Errorf("jail %s: more than %d addresses in one run", k.jail, math.MaxInt32)
	}
	tr, err := r.tx.Track(k.jail, k.key)
	if err != nil {
		return nil, err
	}
	if n := len(r.blocks); n == 0 || len(r.blocks[n-1]) == blockSize {
		r.blocks = append(r.blocks, make([]trackEntry, 0, blockSize))
	}
	b := &r.blocks[len(r.blocks)-1]
	*b = append(*b, trackEntry{key: k.key, jail: je.jail})
	e := &(*b)[len(*b)-1]
	if tr != nil {
		e.tr = *tr
	} else {
		if len(r.times)+timesCap > cap(r.times) {
			r.times = make([]int64, 0, timesSize)
		}
		n := len(r.times)
		r.times = r.times[:n+timesCap]
		e.tr.Failures, e.fresh = r.times[n:n:n+timesCap], true
	}
	m.add(slot, h, r.entries)
	r.entries++
	return e, nil
}

// guarded reports whether the guard refuses a ban of p: the policy
// then decides none (Options.Guard). Each key is checked once a run.
func (r *run) guarded(p netip.Prefix) bool {
	if r.o.Guard == nil {
		return false
	}
	if r.refused == nil {
		r.refused = new(guardCache)
	}
	k := netKeyOf(p)
	s := &r.refused[k.slot()]
	if !s.used || s.key != k {
		*s = guardSlot{key: k, used: true, refused: r.o.Guard.Check(p) != ""}
	}
	return s.refused
}

// guardCache remembers the guard's answers for the networks met
// lately, in a fixed table indexed by a hash of the network: a run's
// repeat offenders are checked once, and a flood of distinct addresses
// costs a check each and no memory (a map would grow by an entry per
// address: 0.7 s of a run over a million).
type guardCache [1 << guardBits]guardSlot

const guardBits = 14

type guardSlot struct {
	key           netKey
	used, refused bool
}

// slot returns k's place in a guardCache.
func (k netKey) slot() uint64 {
	h := k.hi*0x9e3779b97f4a7c15 ^ k.lo*0xc2b2ae3d27d4eb4f ^ uint64(k.bits)
	h ^= h >> 29
	return (h * 0x94d049bb133111eb) >> (64 - guardBits)
}

// finish records the decisions, lifts expired bans and saves the rest.
func (r *run) finish() error {
	now := r.o.Now
	quiet, err := r.quiet()
	if err != nil {
		return err
	}
	var held []state.Ban
	if !quiet {
		if held, err = r.tx.Bans(); err != nil {
			return err
		}
	}
	l := newLedger(r.tx, r.o.Config, now, r.o.DryRun, len(r.decided))
	for _, b := range r.decided {
		r.res.Bans = append(r.res.Bans, b)
		if _, err := l.record(b); err != nil {
			return err
		}
	}
	// The bans held after the run: the held ones, replaced by the bans
	// this run put in their place, then its new ones in decided order.
	put := maps.Clone(l.put)
	for i := range held {
		k := trackKey{held[i].Jail, held[i].Prefix}
		if b, ok := put[k]; ok {
			held[i] = b
			delete(put, k)
		}
	}
	for _, b := range r.decided {
		k := trackKey{b.Jail, b.Prefix}
		if nb, ok := put[k]; ok && nb.Start.Equal(b.Start) {
			held = append(held, nb)
			delete(put, k)
		}
	}
	sum := state.BanSummary{At: now, Active: map[string]int{}, Config: r.guardPrint()}
	// With a kernel backend the summary is marked refused until the
	// firewall step has applied it and says whether its plan refused any
	// (keepMark), rather than check every ban with the guard here too.
	checkGuard := r.o.Firewall != nil && r.o.Firewall.Kind() == "none"
	sum.Refused = r.o.Firewall != nil && !checkGuard
	if !quiet {
		r.res.Active = make([]state.Ban, 0, len(held))
	}
	for _, b := range held {
		if !b.Permanent() && !b.Until.After(now) {
			r.res.Unbans = append(r.res.Unbans, b)
			if err := l.lift(b, false); err != nil {
				return err
			}
			continue
		}
		next := b.Until
		if b.Start.After(now) {
			next = b.Start
		}
		if !next.IsZero() && (sum.Next.IsZero() || next.Before(sum.Next)) {
			sum.Next = next
		}
		if b.ActiveAt(now) {
			r.res.Active = append(r.res.Active, b)
			sum.Active[b.Jail]++
			sum.Refused = sum.Refused || checkGuard && (r.o.Guard == nil || r.o.Guard.Check(b.Prefix) != "")
		}
	}
	if !quiet {
		r.res.ActiveCount = sum.Active
	}
	if r.o.DryRun {
		return nil
	}
	if err := l.flush(); err != nil {
		return err
	}
	if err := r.outbox(l.events); err != nil {
		return err
	}
	for k, n := range r.counts {
		e := state.FleetEntry{Kind: state.FleetFailures, Jail: k.jail, Prefix: k.key, Bucket: k.bucket, Count: n}
		if err := r.tx.AddFleetEntry(e); err != nil {
			return err
		}
	}
	// Each jail's policy and due time looked up once, not per entry.
	type judgement struct {
		pol *analyze.Policy
		at  time.Time
	}
	judges := map[uint16]judgement{}
	for jail, je := range r.tracks {
		at, _ := r.due(jail)
		judges[je.jail] = judgement{r.policy(jail), at}
	}
	// In the order met: the order of the tracks in memory.
	updates := func(yield func(*state.TrackUpdate) bool) {
		var u state.TrackUpdate // one for all: PutTrackSeq keeps none
		var last uint16
		j := judges[last]
		for _, b := range r.blocks {
			for i := range b {
				e := &b[i]
				if e.jail != last {
					last, j = e.jail, judges[e.jail]
				}
				u = state.TrackUpdate{Jail: r.names.list[e.jail], Key: e.key, New: e.fresh}
				if stale, exp := judgeTrack(j.pol, j.at, &e.tr); !stale {
					u.Track, u.Expires = &e.tr, exp
				} else if e.fresh {
					continue // nothing to keep, nothing to delete
				}
				if !yield(&u) {
					return
				}
			}
		}
	}
	if err := r.tx.PutTrackSeq(int(r.entries), updates); err != nil {
		return err
	}
	for jail, t := range r.clocks {
		if t0, _ := r.tx.LogClock(jail); t0.Equal(t) {
			continue // read, not moved: nothing to write
		}
		if err := r.tx.SetLogClock(jail, t); err != nil {
			return err
		}
	}
	for _, f := range r.files {
		if err := r.tx.PutFile(f.jail, f.key, f.rec); err != nil {
			return err
		}
	}
	for _, f := range r.journals {
		if err := r.tx.PutJournal(f.jail, f.source, f.rec); err != nil {
			return err
		}
	}
	if _, err := r.tx.PurgeTracks(r.due, r.judge); err != nil {
		return err
	}
	if _, err := r.tx.PurgeHistory(now.Add(-r.o.Config.History)); err != nil {
		return err
	}
	if !quiet {
		// last: every write of a ban drops it
		if err := r.tx.SetBanSummary(sum); err != nil {
			return err
		}
	}
	return nil // the time of the run: see Run
}

// quiet reports whether this run may leave the bans held unread: it
// decided none, it takes no part in a fleet (whose exchange reads and
// writes bans after it), the state's ban summary says that no ban was
// written, ended or started since it was made, under the same guard,
// and that none of the active bans is refused (a refusal is reported at
// every run), and, with a kernel backend, the summary holds the mark of
// the backend's last apply and no full comparison is due (the firewall
// step then checks the kernel against it). It then fills
// Result.ActiveCount from the summary.
func (r *run) quiet() (bool, error) {
	if len(r.decided) > 0 || r.o.DryRun || r.o.Config.Fleet.Enabled() {
		return false, nil
	}
	s, ok, err := r.tx.BanSummary()
	if err != nil || !ok || s.Refused || !s.Holds(r.o.Now, r.guardPrint()) {
		return false, err
	}
	if fw := r.o.Firewall; fw != nil && fw.Kind() != "none" {
		// A kernel backend: only with a mark of its last apply to check
		// the kernel against, and not past the time for a full
		// comparison.
		m, ok := summaryMark(s, fw.Kind(), r.o.Now)
		if !ok {
			return false, nil
		}
		r.res.mark = m
	}
	r.res.ActiveCount = s.Active
	if r.res.ActiveCount == nil {
		r.res.ActiveCount = map[string]int{}
	}
	r.res.quiet = true
	return true, nil
}

// guardPrint is the guard's fingerprint, 0 without one.
func (r *run) guardPrint() uint64 {
	if r.o.Guard == nil {
		return 0
	}
	return r.o.Guard.Fingerprint()
}

// outbox adds the run's failures, busiest addresses and new warnings to
// the digest outbox; with the digest disabled it empties the outbox
// instead (of what an earlier version or configuration left), so that it
// never grows, and forgets failed deliveries.
func (r *run) outbox(events bool) error {
	if !events {
		if err := r.tx.ClearDigestFailure(); err != nil {
			return err
		}
		if r.tx.OutboxEmpty() {
			return nil
		}
		_, err := r.tx.ClearEvents()
		return err
	}
	now := r.o.Now
	counts := map[string]int{}
	// The busiest maxOffenders, kept in order as the entries go by: a
	// flood's million entries are neither copied nor sorted.
	before := func(a, b *state.Offender) bool {
		if a.Failures != b.Failures {
			return a.Failures > b.Failures
		}
		if a.Jail != b.Jail {
			return a.Jail < b.Jail
		}
		return a.Prefix.Addr().Less(b.Prefix.Addr())
	}
	top := make([]state.Offender, 0, maxOffenders+1)
	for _, b := range r.blocks {
		for i := range b {
			e := &b[i]
			jail := r.names.list[e.jail]
			counts[jail] += int(e.n)
			if e.n == 0 {
				continue
			}
			o := state.Offender{Jail: jail, Prefix: e.key, Failures: int(e.n)}
			if len(top) == maxOffenders && !before(&o, &top[len(top)-1]) {
				continue
			}
			o.Users = r.users(e)
			at := sort.Search(len(top), func(i int) bool { return before(&o, &top[i]) })
			top = slices.Insert(top, at, o)
			top = top[:min(len(top), maxOffenders)]
		}
	}
	if len(counts) > 0 {
		if err := r.tx.AddEvent(&state.Event{Kind: state.EventFailures, Time: now, Counts: counts, Top: top}); err != nil {
			return err
		}
	}
	for _, w := range r.res.Warnings {
		if err := r.tx.AddEvent(&state.Event{Kind: state.EventWarning, Time: now, Text: w}); err != nil {
			return err
		}
	}
	return nil
}

// clock returns the newest failure time of a jail, this run's included.
func (r *run) clock(jail string) time.Time {
	if t, ok := r.clocks[jail]; ok {
		return t
	}
	t, _ := r.tx.LogClock(jail)
	r.clocks[jail] = t
	return t
}

// due returns the time up to which a jail's tracks are judged: the
// jail's log clock (not later than now), since a log that lags behind the
// clock may still bring failures that join an old window. (Not now: a log
// whose times lag behind the clock, a year-less syslog in another zone or
// old logs run with --now, would lose every window at every run and never
// ban. So the windows of a flood followed by silence stay until the log's
// time passes them; quiet runs never read them meanwhile.) ok is false
// for a jail no longer configured.
func (r *run) due(jail string) (time.Time, bool) {
	if r.policy(jail) == nil {
		return time.Time{}, false
	}
	at := r.clock(jail)
	if at.IsZero() || at.After(r.o.Now) {
		at = r.o.Now
	}
	return at, true
}

// judge reports whether a track can go (see due) and, if not, when it
// can.
func (r *run) judge(jail string, tr *analyze.Track) (stale bool, expires int64) {
	at, _ := r.due(jail)
	return judgeTrack(r.policy(jail), at, tr)
}

// judgeTrack judges a track of a jail of policy pol (nil: a jail gone)
// due at at.
func judgeTrack(pol *analyze.Policy, at time.Time, tr *analyze.Track) (stale bool, expires int64) {
	if pol == nil {
		return true, 0
	}
	return tr.Stale(pol, at), tr.Expiry(pol)
}

func (r *run) policy(jail string) *analyze.Policy {
	if p, ok := r.pols[jail]; ok {
		return p
	}
	var p *analyze.Policy
	if j := r.o.Config.Jail(jail); j != nil {
		p = Policy(j, r.o.Config.History)
	}
	if r.pols == nil {
		r.pols = map[string]*analyze.Policy{}
	}
	r.pols[jail] = p
	return p
}

// problem records a failed step; its message is printed when it is new.
func (r *run) problem(key string, err error) {
	r.res.Problems = append(r.res.Problems, err)
	r.warnOnce(key, err.Error())
}

func (r *run) warnOnce(key, msg string) {
	if r.tx.Warned(key) {
		return
	}
	r.res.Warnings = append(r.res.Warnings, msg)
	if !r.o.DryRun {
		r.tx.SetWarned(key, r.o.Now)
	}
}

func (r *run) clearWarning(key string) {
	if !r.o.DryRun {
		r.tx.ClearWarned(key)
	}
}

// Desired turns held bans into the firewall's desired set.
func Desired(bans []state.Ban) []enforce.Ban {
	out := make([]enforce.Ban, 0, len(bans))
	for _, b := range bans {
		out = append(out, enforce.Ban{Jail: b.Jail, Prefix: b.Prefix, Until: b.Until})
	}
	return out
}

// JailSpecs lists the firewall's view of the configured jails, plus any
// jail that holds a ban but is no longer configured (its bans stay
// enforced on every port until they end).
func JailSpecs(cfg *config.Config, bans []state.Ban) []enforce.JailSpec {
	return jailSpecsOf(cfg, func(yield func(string) bool) {
		for _, b := range bans {
			if !yield(b.Jail) {
				return
			}
		}
	})
}

// jailSpecsOf is JailSpecs for bans of the jails named.
func jailSpecsOf(cfg *config.Config, jails iter.Seq[string]) []enforce.JailSpec {
	seen := map[string]bool{}
	var out []enforce.JailSpec
	for _, j := range cfg.Jails {
		seen[j.Name] = true
		out = append(out, enforce.JailSpec{Name: j.Name, Protocol: j.Protocol, Ports: j.PortSpec()})
	}
	for name := range jails {
		if !seen[name] {
			seen[name] = true
			out = append(out, enforce.JailSpec{Name: name, Protocol: "all"})
		}
	}
	return out
}
