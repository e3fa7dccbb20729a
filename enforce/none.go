package enforce

import (
	"context"
	"time"
)

// noneBackend keeps nothing: Actual is always empty, and Apply reports what
// a real backend would do to an empty firewall (every accepted ban added,
// the guard's refusals), so it serves dry runs, reports and tests.
type noneBackend struct {
	opts Options
	t    target
}

func (n *noneBackend) Kind() string { return "none" }

func (n *noneBackend) Actual(ctx context.Context, now time.Time) ([]Ban, error) {
	return nil, ctx.Err()
}

func (n *noneBackend) Apply(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	return n.Plan(ctx, jails, desired, now)
}

func (n *noneBackend) Plan(ctx context.Context, jails []JailSpec, desired []Ban, now time.Time) (Diff, error) {
	p, err := preparePlan(ctx, "none", n.t, n.opts, jails, desired, now)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Refused: p.refused}
	for _, j := range p.jails {
		for _, fam := range families {
			d.Added = append(d.Added, p.bySet[setKey{j.name, fam}]...)
		}
	}
	sortBans(d.Added)
	return d, nil
}

func (n *noneBackend) Flush(ctx context.Context) error { return ctx.Err() }

// preparePlan reads the target's own addresses and builds the plan; the
// first step of every Apply.
func preparePlan(ctx context.Context, kind string, t target, opts Options, jails []JailSpec, desired []Ban, now time.Time) (*plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	own, err := t.ownAddrs()
	if err != nil {
		return nil, backendError(kind, "guard", err)
	}
	p, err := newPlan(jails, desired, now, newGuard(own, opts.Never), opts.MaxElem)
	if err != nil {
		return nil, backendError(kind, "plan", err)
	}
	return p, nil
}
