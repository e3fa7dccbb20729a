//go:build linux

package enforce

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// iptablesBackend keeps one chain per jail and family, logjail-<jail>,
// holding one rule per banned prefix, and a jump to it from INPUT limited
// to the jail's protocol and ports.
type iptablesBackend struct {
	opts Options
	t    target
	x    *xtables
}

func (b *iptablesBackend) Kind() string { return "iptables" }

func chainName(jail string) string { return prefix + jail }

// memberSpec is the rule for one banned prefix, exactly as iptables-save
// prints it, so that what is read back compares equal.
func (b *iptablesBackend) memberSpec(j jail, p netip.Prefix) []string {
	s := []string{"-s", p.String()}
	if b.opts.BlockType == "REJECT" && j.proto == "tcp" {
		s = append(s, "-p", "tcp") // tcp-reset needs the protocol in the rule
	}
	s = append(s, "-m", "comment", "--comment", comment)
	return append(s, verdictSpec(b.opts.BlockType, j.proto, familyOf(p))...)
}

// jumpSpecs are the INPUT rules leading to a jail's chain.
func jumpSpecs(j jail) [][]string {
	var specs [][]string
	for _, g := range portGroups(j.ports) {
		s := matchSpec(j, g)
		specs = append(specs, append(s, "-m", "comment", "--comment", comment, "-j", chainName(j.name)))
	}
	return specs
}

func isJump(args []string) bool {
	return hasComment(args) && strings.HasPrefix(argAfter(args, "-j"), prefix)
}

// xtMember is a rule found in a logjail chain.
type xtMember struct {
	chain string
	args  []string
}

// members reads the rules of the logjail chains of one family.
func (b *iptablesBackend) members(ft *filterTable, p *plan, now time.Time) []found[xtMember] {
	var out []found[xtMember]
	for _, r := range ft.rules {
		jailName, ok := strings.CutPrefix(r.chain, prefix)
		if !ok {
			continue
		}
		f := found[xtMember]{ban: Ban{Jail: jailName}, raw: xtMember(r)}
		if pfx, err := netip.ParsePrefix(argAfter(r.args, "-s")); err == nil {
			f.ban.Prefix = pfx
			if p != nil {
				if j, ok := p.byName[jailName]; ok {
					f.ok = slices.Equal(r.args, b.memberSpec(j, pfx))
				}
			}
		}
		out = append(out, f)
	}
	return out
}

func (b *iptablesBackend) Actual(ctx context.Context, now time.Time) ([]Ban, error) {
	var bans []Ban
	for _, fam := range b.families() {
		ft, err := b.x.readFilter(ctx, fam)
		if err != nil {
			return nil, err
		}
		for _, f := range b.members(ft, nil, now) {
			if f.ban.Prefix.IsValid() {
				bans = append(bans, f.ban)
			}
		}
	}
	sortBans(bans)
	return bans, nil
}

func (b *iptablesBackend) families() []family {
	if ipv6Enabled() {
		return families
	}
	return []family{v4}
}

func (b *iptablesBackend) Apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	return b.apply(ctx, jails, desired, now, false)
}

func (b *iptablesBackend) Plan(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	return b.apply(ctx, jails, desired, now, true)
}

func (b *iptablesBackend) apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time, dry bool) (Diff, error) {
	// The plan is built while iptables-save reads the kernel.
	fams := b.families()
	var p *plan
	fts := make([]*filterTable, len(fams))
	fns := []func() error{func() (err error) {
		p, err = preparePlan(ctx, b.Kind(), b.t, b.opts, jails, desired, now)
		return err
	}}
	for i, fam := range fams {
		fns = append(fns, func() (err error) { fts[i], err = b.x.readFilter(ctx, fam); return err })
	}
	if err := concurrently(fns...); err != nil {
		return Diff{}, err
	}
	if len(fams) == 1 {
		p.refuseFamily(v6, "IPv6 is disabled in the kernel")
	}
	d := Diff{Refused: p.refused}
	for i, fam := range fams {
		if err := b.applyFamily(ctx, fam, fts[i], p, now, &d, dry); err != nil {
			return d, err
		}
	}
	if !dry {
		d.Mark = b.mark(ctx, p, fams, jails, now)
	}
	sortBans(d.Added)
	sortBans(d.Removed)
	return d, nil
}

// chainKey names one jail's chain of one family in a mark's counts.
func chainKey(jail string, fam family) string {
	return chainName(jail) + "/" + strconv.Itoa(int(fam))
}

// mark reads the filter tables again after an Apply: when logjail's
// chains are exactly the plan's, each holding as many rules as the plan
// has bans for it, and the jumps are in place, it returns the counts as
// the Apply's mark.
func (b *iptablesBackend) mark(ctx context.Context, p *plan, fams []family, jails []JailSpec, now time.Time) *Mark {
	m := newMark(b.Kind(), b.opts, jails, now)
	if m == nil {
		return nil
	}
	m.Counts = planCounts(p, fams, chainKey)
	if ok, err := b.check(ctx, p.jails, fams, m.Counts); err != nil || !ok {
		return nil
	}
	return m
}

// Check counts the rules of logjail's chains (iptables-save, parsing
// only INPUT) against m's counts, and compares the jumps from INPUT with
// those Apply makes for jails.
func (b *iptablesBackend) Check(ctx context.Context, jails []JailSpec, m Mark) (bool, error) {
	js, ok := markedJails(b.Kind(), b.opts, jails, m)
	if !ok {
		return false, nil
	}
	return b.check(ctx, js, b.families(), m.Counts)
}

func (b *iptablesBackend) check(ctx context.Context, js []jail, fams []family, counts map[string]int) (bool, error) {
	fts := make([]*filterTable, len(fams))
	var fns []func() error
	for i, fam := range fams {
		fns = append(fns, func() (err error) { fts[i], err = b.x.countFilter(ctx, fam); return err })
	}
	if err := concurrently(fns...); err != nil {
		return false, err
	}
	n := 0
	for i, fam := range fams {
		for _, c := range fts[i].chains {
			jailName, ok := strings.CutPrefix(c, prefix)
			if !ok {
				continue
			}
			want, ok := counts[chainKey(jailName, fam)]
			if !ok || fts[i].counts[c] != want {
				return false, nil
			}
			n++
		}
		var want [][]string
		for _, j := range js {
			want = append(want, jumpSpecs(j)...)
		}
		if setup, err := b.x.reconcileInput(ctx, fam, fts[i], isJump, want, true); err != nil || len(setup) > 0 {
			return false, err
		}
	}
	return n == len(counts), nil
}

func (b *iptablesBackend) applyFamily(ctx context.Context, fam family, ft *filterTable, p *plan, now time.Time, d *Diff, dry bool) error {
	cmd := fam.xtCommand()
	h, err := b.x.handle(fam)
	if err != nil {
		return err
	}

	// 1. A chain for every jail.
	var missing []string
	for _, j := range p.jails {
		if c := chainName(j.name); !ft.hasChain(c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 && dry {
		for _, c := range missing {
			d.Setup = append(d.Setup, fmt.Sprintf("create chain %s (%s)", c, cmd))
		}
	} else if len(missing) > 0 {
		err := b.t.do(func() error {
			for _, c := range missing {
				if err := h.NewChain("filter", c); err != nil {
					return fmt.Errorf("create chain %s: %w", c, xtError(err))
				}
				d.Setup = append(d.Setup, fmt.Sprintf("create chain %s (%s)", c, cmd))
			}
			return nil
		})
		if err != nil {
			return backendError(b.Kind(), cmd, err)
		}
	}

	// 2. The members, in one iptables-restore.
	var have, gone []found[xtMember]
	for _, f := range b.members(ft, p, now) {
		if _, ok := p.byName[f.ban.Jail]; ok {
			have = append(have, f)
		} else {
			gone = append(gone, f)
		}
	}
	md := diffMembers(p, have, func(k setKey) bool { return k.fam == fam }, false, now)
	var script strings.Builder
	script.WriteString("*filter\n")
	for _, f := range md.del {
		fmt.Fprintf(&script, "-D %s %s\n", f.raw.chain, quoteArgs(f.raw.args))
	}
	for _, a := range md.add {
		fmt.Fprintf(&script, "-A %s %s\n", chainName(a.Jail), quoteArgs(b.memberSpec(p.byName[a.Jail], a.Prefix)))
	}
	script.WriteString("COMMIT\n")
	if len(md.del)+len(md.add) > 0 && !dry {
		if _, err := b.t.run(ctx, []byte(script.String()), cmd+"-restore", "-w", "10", "--noflush"); err != nil {
			return backendError(b.Kind(), cmd+"-restore", err)
		}
	}
	for _, f := range md.del {
		if f.ban.Prefix.IsValid() {
			d.Removed = append(d.Removed, f.ban)
		} else {
			d.Setup = append(d.Setup, fmt.Sprintf("delete %s rule -A %s %s", cmd, f.raw.chain, quoteArgs(f.raw.args)))
		}
	}
	d.Added = append(d.Added, md.add...)

	// 3. The jumps from INPUT.
	var want [][]string
	for _, j := range p.jails {
		want = append(want, jumpSpecs(j)...)
	}
	setup, err := b.x.reconcileInput(ctx, fam, ft, isJump, want, dry)
	d.Setup = append(d.Setup, setup...)
	if err != nil {
		return err
	}

	// 4. The chains of jails no longer configured.
	for _, c := range ft.chains {
		jailName, ok := strings.CutPrefix(c, prefix)
		if !ok {
			continue
		}
		if _, ok := p.byName[jailName]; ok {
			continue
		}
		if !dry {
			if err := b.t.do(func() error { return h.ClearAndDeleteChain("filter", c) }); err != nil {
				return backendError(b.Kind(), cmd, fmt.Errorf("delete chain %s: %w", c, xtError(err)))
			}
		}
		d.Setup = append(d.Setup, fmt.Sprintf("delete chain %s (%s)", c, cmd))
		for _, f := range gone {
			if f.raw.chain == c && f.ban.Prefix.IsValid() {
				d.Removed = append(d.Removed, f.ban)
			}
		}
	}
	return nil
}

func (b *iptablesBackend) Flush(ctx context.Context) error {
	for _, fam := range b.families() {
		ft, err := b.x.readFilter(ctx, fam)
		if err != nil {
			return err
		}
		if _, err := b.x.reconcileInput(ctx, fam, ft, isJump, nil, false); err != nil {
			return err
		}
		h, err := b.x.handle(fam)
		if err != nil {
			return err
		}
		for _, c := range ft.chains {
			if !strings.HasPrefix(c, prefix) {
				continue
			}
			if err := b.t.do(func() error { return h.ClearAndDeleteChain("filter", c) }); err != nil {
				return backendError(b.Kind(), fam.xtCommand(), fmt.Errorf("delete chain %s: %w", c, xtError(err)))
			}
		}
	}
	return nil
}
