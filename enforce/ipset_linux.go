//go:build linux

package enforce

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ipsetBackend keeps one hash:net set per jail and family,
// logjail-<jail>-4 and logjail-<jail>-6, with timeout support, and per set
// one INPUT rule matching the jail's protocol and ports and the set.
// It reads the sets over netlink (ipsetReader) and changes them with one
// "ipset restore" per Apply.
type ipsetBackend struct {
	opts Options
	t    target
	x    *xtables
}

func (b *ipsetBackend) Kind() string { return "ipset" }

func setName(jail string, fam family) string {
	return prefix + jail + "-" + strconv.Itoa(int(fam))
}

// tmpSuffix marks the set a rebuild fills before swapping it in.
const tmpSuffix = "t"

// parseSetName splits logjail-<jail>-4 (or -6, or a rebuild's -4t).
func parseSetName(name string) (jail string, fam family, tmp, ok bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return "", 0, false, false
	}
	rest, tmp = strings.CutSuffix(rest, tmpSuffix)
	switch {
	case strings.HasSuffix(rest, "-4"):
		fam = v4
	case strings.HasSuffix(rest, "-6"):
		fam = v6
	default:
		return "", 0, false, false
	}
	jail = rest[:len(rest)-2]
	return jail, fam, tmp, jail != ""
}

// ipsetSet is one set as the kernel lists it.
type ipsetSet struct {
	name    string
	typ     string
	family  string // inet, inet6
	maxelem int
	timeout bool // the set has timeout support
	// count is how many members the kernel says the set holds (counted:
	// it said so).
	count   int
	counted bool
	members []found[struct{}]
}

// readSets reads logjail's sets (names starting with "logjail-") and
// their members over netlink.
func (b *ipsetBackend) readSets(now time.Time) (map[string]*ipsetSet, error) {
	r, err := openIpsetReader(b.t)
	if err != nil {
		return nil, backendError(b.Kind(), "list sets", err)
	}
	defer r.close()
	names, err := r.names()
	if err != nil {
		return nil, backendError(b.Kind(), "list sets", err)
	}
	sets := map[string]*ipsetSet{}
	for _, name := range names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		s, err := r.set(name, now)
		if err != nil {
			return nil, backendError(b.Kind(), "read set "+name, err)
		}
		sets[name] = s
	}
	return sets, nil
}

func ipsetFamily(fam family) string {
	if fam == v4 {
		return "inet"
	}
	return "inet6"
}

// createLine is how logjail creates a set; the hash starts big enough for
// the members it is created with, so that ipset need not grow it while
// filling.
func (b *ipsetBackend) createLine(name string, fam family, members int) string {
	hashsize := 1024
	if n := members / 8; n > hashsize {
		hashsize = 1 << bits.Len(uint(n-1))
	}
	return fmt.Sprintf("create %s hash:net family %s hashsize %d maxelem %d timeout 0", name, ipsetFamily(fam), hashsize, b.opts.MaxElem)
}

// ipsetScript is the input of one ipset restore, a command a line.
type ipsetScript []byte

func (s *ipsetScript) line(l string) { *s = append(append(*s, l...), '\n') }

// add adds the line that adds ban to set with its timeout (100,000 of
// them for `ban -`: appended, not formatted).
func (s *ipsetScript) add(set string, ban Ban, now time.Time) {
	b := append(append(append(*s, "add "...), set...), ' ')
	if ban.Prefix.IsSingleIP() {
		b = ban.Prefix.Addr().AppendTo(b)
	} else {
		b = ban.Prefix.AppendTo(b)
	}
	b = strconv.AppendInt(append(b, " timeout "...), int64(kernelTimeout(ban.Until, now)/time.Second), 10)
	*s = append(b, '\n')
}

// ruleSpecs are the INPUT rules matching one jail's set of one family.
func (b *ipsetBackend) ruleSpecs(j jail, fam family) [][]string {
	var specs [][]string
	for _, g := range portGroups(j.ports) {
		s := matchSpec(j, g)
		s = append(s, "-m", "set", "--match-set", setName(j.name, fam), "src", "-m", "comment", "--comment", comment)
		specs = append(specs, append(s, verdictSpec(b.opts.BlockType, j.proto, fam)...))
	}
	return specs
}

func isSetRule(args []string) bool {
	return hasComment(args) && strings.HasPrefix(argAfter(args, "--match-set"), prefix)
}

func (b *ipsetBackend) families() []family {
	if ipv6Enabled() {
		return families
	}
	return []family{v4}
}

func (b *ipsetBackend) Actual(ctx context.Context, now time.Time) ([]Ban, error) {
	sets, err := b.readSets(now)
	if err != nil {
		return nil, err
	}
	var bans []Ban
	for name, s := range sets {
		if _, _, tmp, ok := parseSetName(name); !ok || tmp {
			continue
		}
		for _, m := range s.members {
			bans = append(bans, m.ban)
		}
	}
	sortBans(bans)
	return bans, nil
}

func (b *ipsetBackend) Apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	c, err := b.prepare(ctx, jails, desired, now, false)
	if err != nil {
		return c.diff(), err
	}
	return c.write(ctx, false)
}

func (b *ipsetBackend) Plan(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	c, err := b.prepare(ctx, jails, desired, now, false)
	if err != nil {
		return c.diff(), err
	}
	return c.write(ctx, true)
}

// Stage prepares an Apply, and fills every set that gains at least
// StageMin members, which make half of it or more, or is rebuilt, as a
// staging set beside it
// (logjail-<jail>-4t), which no rule references: until the Apply, the
// firewall blocks what it blocked. The Apply then swaps each staging set
// with its set (ipset swap, atomic; a set not there yet is renamed
// into place) and destroys what it swapped out. A staging set left by a
// crash is destroyed by the next Apply or Stage.
func (b *ipsetBackend) Stage(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Staged, error) {
	c, err := b.prepare(ctx, jails, desired, now, true)
	if err != nil {
		return nil, err
	}
	if len(c.fill) > 0 {
		if _, err := b.t.run(ctx, c.fill, "ipset", "restore"); err != nil {
			err = backendError(b.Kind(), "restore", err)
			return nil, errors.Join(err, c.Drop(ctx))
		}
	}
	return c, nil
}

// ipsetChange is one Apply of the ipset backend, prepared: what was
// read, the plan, the Diff it makes and the scripts that make it.
type ipsetChange struct {
	b     *ipsetBackend
	jails []JailSpec
	now   time.Time
	p     *plan
	fams  []family
	fts   map[family]*filterTable
	sets  map[string]*ipsetSet
	d     Diff
	// fill makes and fills the staging sets (Stage runs it), staged
	// names them; script is the member changes, the staging sets'
	// swaps included.
	fill, script ipsetScript
	staged       []string
}

// diff is the Diff of a change that may not have been prepared.
func (c *ipsetChange) diff() Diff {
	if c == nil {
		return Diff{}
	}
	return c.d
}

// prepare reads the kernel and plans an Apply without changing anything;
// stage moves the filling of large sets into staging sets (see Stage).
func (b *ipsetBackend) prepare(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time, stage bool) (*ipsetChange, error) {
	// Every change goes through ipset restore: without the program, fail
	// before reading anything.
	if _, err := b.t.command(ctx, "ipset"); err != nil {
		return nil, backendError(b.Kind(), "restore", err)
	}
	// The plan is built while the tools read the kernel.
	fams := b.families()
	var (
		p      *plan
		sets   map[string]*ipsetSet
		ft4    *filterTable
		ft6    *filterTable
		readV6 = func() error { return nil }
	)
	if len(fams) == 2 {
		readV6 = func() (err error) { ft6, err = b.x.readFilter(ctx, v6); return err }
	}
	err := concurrently(
		func() (err error) { p, err = preparePlan(ctx, b.Kind(), b.t, b.opts, jails, desired, now); return err },
		func() (err error) { sets, err = b.readSets(now); return err },
		func() (err error) { ft4, err = b.x.readFilter(ctx, v4); return err },
		readV6,
	)
	if err != nil {
		return nil, err
	}
	if len(fams) == 1 {
		p.refuseFamily(v6, "IPv6 is disabled in the kernel")
	}
	c := &ipsetChange{b: b, jails: jails, now: now, p: p, fams: fams, fts: map[family]*filterTable{v4: ft4, v6: ft6}, sets: sets, d: Diff{Refused: p.refused}}
	d := &c.d

	// Check before changing anything.
	for _, j := range p.jails {
		for _, fam := range fams {
			name := setName(j.name, fam)
			if s := sets[name]; s != nil && (s.typ != "hash:net" || s.family != ipsetFamily(fam)) {
				return c, backendError(b.Kind(), "check", fmt.Errorf("set %s exists as %s family %s, logjail needs hash:net family %s (remove it with: ipset destroy %s): %w",
					name, s.typ, s.family, ipsetFamily(fam), name, ErrConflict))
			}
		}
	}

	// Sets and members: script, run in one ipset restore; with stage,
	// the large sets filled beforehand (fill).
	early := &c.script
	if stage {
		early = &c.fill
	}
	for _, name := range sortedKeys(sets) {
		if _, _, tmp, _ := parseSetName(name); tmp {
			early.line("destroy " + name) // left by an interrupted rebuild or stage
			d.Setup = append(d.Setup, "destroy set "+name+" (ipset)")
		}
	}
	// staging fills tmp with want, to be swapped with (or renamed to)
	// name by the script.
	staging := func(name string, fam family, want []Ban, exists bool) {
		tmp := name + tmpSuffix
		fill := &c.script
		if stage {
			fill = &c.fill
			c.staged = append(c.staged, tmp)
		}
		*fill = slices.Grow(*fill, 48*len(want))
		fill.line(b.createLine(tmp, fam, len(want)))
		for _, w := range want {
			fill.add(tmp, w, now)
		}
		if exists {
			c.script.line("swap " + name + " " + tmp)
			c.script.line("destroy " + tmp)
		} else {
			c.script.line("rename " + tmp + " " + name)
		}
	}
	for _, j := range p.jails {
		for _, fam := range fams {
			name := setName(j.name, fam)
			want := p.bySet[setKey{j.name, fam}]
			s := sets[name]
			switch {
			case s == nil:
				d.Setup = append(d.Setup, "create set "+name+" (ipset)")
				d.Added = append(d.Added, want...)
				if stage && len(want) >= StageMin {
					staging(name, fam, want, false)
					continue
				}
				c.script.line(b.createLine(name, fam, len(want)))
				for _, w := range want {
					c.script.add(name, w, now)
				}
			case s.maxelem != b.opts.MaxElem || !s.timeout:
				// Rebuild beside it and swap: the INPUT rule keeps
				// pointing at the name, so the jail never goes unguarded.
				staging(name, fam, want, true)
				d.Setup = append(d.Setup, fmt.Sprintf("rebuild set %s with maxelem %d and timeouts (ipset)", name, b.opts.MaxElem))
				old := map[netip.Prefix]bool{}
				for _, m := range s.members {
					old[m.ban.Prefix] = true
					if _, ok := p.lookup(j.name, m.ban.Prefix); !ok || !m.ok {
						d.Removed = append(d.Removed, m.ban)
					}
				}
				for _, w := range want {
					if !old[w.Prefix] {
						d.Added = append(d.Added, w)
					}
				}
			default:
				md := diffMembers(p, s.members, func(k setKey) bool { return k == setKey{j.name, fam} }, true, now)
				for _, f := range md.del {
					d.Removed = append(d.Removed, f.ban)
				}
				for _, u := range md.upd {
					d.Updated = append(d.Updated, u.ban)
				}
				d.Added = append(d.Added, md.add...)
				if stage && len(md.add) >= StageMin && 2*len(md.add) >= len(want) {
					// The whole set anew, every member with its timeout:
					// only when the new members are half of it or more
					// (a thousand more in a set of a million are added
					// in place, not a million filled anew).
					staging(name, fam, want, true)
					continue
				}
				for _, f := range md.del {
					c.script.line("del " + name + " " + Addr(f.ban.Prefix))
				}
				for _, a := range md.add {
					c.script.add(name, a, now)
				}
				for _, u := range md.upd {
					c.script.add(name, u.ban, now) // -exist: resets the timeout
				}
			}
		}
	}
	return c, nil
}

// Apply finishes a staged change (see Stage).
func (c *ipsetChange) Apply(ctx context.Context) (Diff, error) { return c.write(ctx, false) }

// Drop destroys the staging sets Stage filled.
func (c *ipsetChange) Drop(ctx context.Context) error {
	if len(c.staged) == 0 {
		return nil
	}
	var script []string
	for _, name := range c.staged {
		script = append(script, "destroy "+name)
	}
	c.staged = nil
	if _, err := c.b.t.run(ctx, []byte(strings.Join(script, "\n")+"\n"), "ipset", "restore"); err != nil {
		return backendError(c.b.Kind(), "destroy staging sets", err)
	}
	return nil
}

// write makes a prepared change (dry: only reports it): the members,
// then the INPUT rules, then the sets of jails gone.
func (c *ipsetChange) write(ctx context.Context, dry bool) (Diff, error) {
	b, p, fams, d := c.b, c.p, c.fams, &c.d
	// 1. Sets and members, in one ipset restore.
	if len(c.script) > 0 && !dry {
		_, err := b.t.run(ctx, c.script, "ipset", "restore", "-exist")
		c.staged = nil // swapped, or left for the next Apply to destroy
		if err != nil {
			return *d, backendError(b.Kind(), "restore", err)
		}
	}

	// 2. The INPUT rules matching the sets.
	for _, fam := range fams {
		var want [][]string
		for _, j := range p.jails {
			want = append(want, b.ruleSpecs(j, fam)...)
		}
		setup, err := b.x.reconcileInput(ctx, fam, c.fts[fam], isSetRule, want, dry)
		d.Setup = append(d.Setup, setup...)
		if err != nil {
			return *d, err
		}
	}

	// 3. The sets of jails no longer configured, now unreferenced.
	var destroy []string
	for name, s := range c.sets {
		jailName, fam, tmp, ok := parseSetName(name)
		if tmp {
			continue
		}
		if _, configured := p.byName[jailName]; ok && configured && slices.Contains(fams, fam) {
			continue
		}
		destroy = append(destroy, "destroy "+name)
		d.Setup = append(d.Setup, "destroy set "+name+" (ipset)")
		for _, m := range s.members {
			d.Removed = append(d.Removed, m.ban)
		}
	}
	if len(destroy) > 0 && !dry {
		slices.Sort(destroy)
		if _, err := b.t.run(ctx, []byte(strings.Join(destroy, "\n")+"\n"), "ipset", "restore"); err != nil {
			return *d, backendError(b.Kind(), "restore", err)
		}
	}
	if !dry {
		d.Mark = b.mark(p, fams, c.jails, c.now)
	}
	slices.Sort(d.Setup)
	sortBans(d.Added)
	sortBans(d.Removed)
	sortBans(d.Updated)
	return *d, nil
}

// mark reads the sets' headers after an Apply: when logjail's sets are
// exactly the plan's, each holding the members the plan put in it, it
// returns their counts as the Apply's mark.
func (b *ipsetBackend) mark(p *plan, fams []family, jails []JailSpec, now time.Time) *Mark {
	m := newMark(b.Kind(), b.opts, jails, now)
	if m == nil {
		return nil
	}
	m.Counts = planCounts(p, fams, setName)
	if ok, err := b.checkSets(m.Counts); err != nil || !ok {
		return nil
	}
	return m
}

// checkSets reports whether logjail's sets are exactly those named in
// counts, in the form Apply makes them, each holding as many members.
func (b *ipsetBackend) checkSets(counts map[string]int) (bool, error) {
	r, err := openIpsetReader(b.t)
	if err != nil {
		return false, backendError(b.Kind(), "list sets", err)
	}
	defer r.close()
	sets, err := r.headers()
	if err != nil {
		return false, backendError(b.Kind(), "list sets", err)
	}
	n := 0
	for name, s := range sets {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		want, ok := counts[name]
		_, fam, tmp, named := parseSetName(name)
		if !ok || !named || tmp || !s.counted || s.count != want || s.typ != "hash:net" ||
			s.family != ipsetFamily(fam) || s.maxelem != b.opts.MaxElem || !s.timeout {
			return false, nil
		}
		n++
	}
	return n == len(counts), nil
}

// Check compares the sets' headers (one netlink dump, no member read)
// with m's counts, and the INPUT rules matching the sets with those
// Apply makes for jails.
func (b *ipsetBackend) Check(ctx context.Context, jails []JailSpec, m Mark) (bool, error) {
	js, ok := markedJails(b.Kind(), b.opts, jails, m)
	if !ok {
		return false, nil
	}
	fams := b.families()
	fts := make([]*filterTable, len(fams))
	var setsOK bool
	fns := []func() error{func() (err error) { setsOK, err = b.checkSets(m.Counts); return err }}
	for i, fam := range fams {
		fns = append(fns, func() (err error) { fts[i], err = b.x.readFilter(ctx, fam); return err })
	}
	if err := concurrently(fns...); err != nil || !setsOK {
		return false, err
	}
	for i, fam := range fams {
		var want [][]string
		for _, j := range js {
			want = append(want, b.ruleSpecs(j, fam)...)
		}
		if setup, err := b.x.reconcileInput(ctx, fam, fts[i], isSetRule, want, true); err != nil || len(setup) > 0 {
			return false, err
		}
	}
	return true, nil
}

func (b *ipsetBackend) Flush(ctx context.Context) error {
	for _, fam := range b.families() {
		ft, err := b.x.readFilter(ctx, fam)
		if err != nil {
			return err
		}
		if _, err := b.x.reconcileInput(ctx, fam, ft, isSetRule, nil, false); err != nil {
			return err
		}
	}
	r, err := openIpsetReader(b.t)
	if err != nil {
		return backendError(b.Kind(), "list sets", err)
	}
	names, err := r.names()
	r.close()
	if err != nil {
		return backendError(b.Kind(), "list sets", err)
	}
	var script []string
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			script = append(script, "destroy "+name)
		}
	}
	if len(script) > 0 {
		if _, err := b.t.run(ctx, []byte(strings.Join(script, "\n")+"\n"), "ipset", "restore"); err != nil {
			return backendError(b.Kind(), "restore", err)
		}
	}
	return nil
}
