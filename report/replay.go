package report

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"time"

	"logjail/analyze"
)

// Replay is what `logjail replay` found, ready to print in any format.
// Lists are sorted as they are shown: IPs by failures (most first), bans by
// start, the timeline by time, users by attempts (most first).
type Replay struct {
	// From and To span the failures found (zero when none).
	From, To time.Time
	// Lines counts every line read, Failures every failure kept (inside
	// --from/--to, not of an ignored address).
	Lines, Failures int64
	// Ambiguous counts the lines skipped because client text stood on
	// both sides of the address: never guessed, never counted.
	Ambiguous int64
	Files     []ReplayFile
	Jails     []ReplayJail
	IPs       []ReplayIP
	Bans      []ReplayBan
	// Step is the timeline's bucket: an hour or a day, chosen from the span.
	Step     time.Duration
	Timeline []Bucket
	Users    []UserCount
	// WhatIf compares with the configured policy; nil without --set.
	WhatIf *WhatIf
}

// ReplayFile is one input file.
type ReplayFile struct {
	Path       string
	Compressed bool
	Lines      int64
}

// ReplayJail is one jail's totals and the policy it was judged by.
type ReplayJail struct {
	Name      string
	Failures  int64
	Addresses int
	Bans      int
	MaxRetry  int
	FindTime  time.Duration
	// BanTime is the first ban's length; 0 with Permanent.
	BanTime   time.Duration
	Permanent bool
}

// ReplayIP is one attacking address.
type ReplayIP struct {
	Addr        netip.Addr
	Failures    int64
	First, Last time.Time
	// Jails is shared by the addresses seen by the same jails: read only.
	Jails []string
	// Users are the first user names it tried (at most a few).
	Users []string
}

// ReplayBan is a ban the policy would have issued. Until is zero for a
// permanent ban.
type ReplayBan struct {
	Jail         string
	Prefix       netip.Prefix
	Start, Until time.Time
	Offense      int
	Failures     int
}

// Bucket is one step of the timeline.
type Bucket struct {
	Start          time.Time
	Failures, Bans int64
}

// UserCount is how often a user name was tried, and by how many addresses.
type UserCount struct {
	Name      string
	Failures  int64
	Addresses int
}

// dayStep is the span above which the timeline counts days, not hours.
const dayStep = 72 * time.Hour

// NewReplay sorts what a replay found into the report. Times are shown in
// loc (nil: time.Local); day buckets start at loc's midnight.
func NewReplay(st *analyze.ReplayStats, jails []analyze.ReplayJail, loc *time.Location) *Replay {
	if loc == nil {
		loc = time.Local
	}
	r := &Replay{Lines: st.Lines, Failures: st.Failures, Ambiguous: st.Ambiguous}
	if st.Failures > 0 {
		r.From, r.To = st.First.In(loc), st.Last.In(loc)
	}
	for _, f := range st.Files {
		r.Files = append(r.Files, ReplayFile{Path: f.Path, Compressed: f.Compressed, Lines: f.Lines})
	}
	for i, j := range st.Jails {
		rj := ReplayJail{Name: j.Name, Failures: j.Failures, Addresses: j.Addresses, Bans: j.Bans}
		if i < len(jails) && jails[i].Policy != nil {
			p := jails[i].Policy
			rj.MaxRetry, rj.FindTime, rj.BanTime, rj.Permanent = p.MaxRetry, p.FindTime, p.BanTime, p.Permanent
			if p.Permanent {
				rj.BanTime = 0
			}
		}
		r.Jails = append(r.Jails, rj)
	}
	// Sort small records, then build the rows in order; addresses of the
	// same jails share one list of jail names.
	type addr struct {
		a netip.Addr
		s *analyze.AddrStats
	}
	addrs := make([]addr, 0, len(st.Addrs))
	for a, s := range st.Addrs {
		addrs = append(addrs, addr{a, s})
	}
	slices.SortFunc(addrs, func(x, y addr) int {
		if c := cmp.Compare(y.s.Failures, x.s.Failures); c != 0 {
			return c
		}
		return x.a.Compare(y.a)
	})
	jailNames := map[uint64][]string{}
	r.IPs = make([]ReplayIP, len(addrs))
	for k, x := range addrs {
		names, ok := jailNames[x.s.Jails]
		if !ok {
			for i := range st.Jails {
				if x.s.Jails&(1<<i) != 0 {
					names = append(names, st.Jails[i].Name)
				}
			}
			jailNames[x.s.Jails] = names
		}
		r.IPs[k] = ReplayIP{Addr: x.a, Failures: x.s.Failures, First: x.s.First.In(loc), Last: x.s.Last.In(loc), Jails: names, Users: x.s.Users}
	}
	r.Bans = make([]ReplayBan, 0, len(st.Bans))
	for _, b := range st.Bans {
		rb := ReplayBan{Jail: b.Jail, Prefix: b.Key, Start: b.Start.In(loc), Offense: b.Offense, Failures: b.Failures}
		if !b.Permanent {
			rb.Until = b.Until.In(loc)
		}
		r.Bans = append(r.Bans, rb)
	}
	slices.SortStableFunc(r.Bans, func(a, b ReplayBan) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Jail, b.Jail); c != 0 {
			return c
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	})
	r.Users = make([]UserCount, 0, len(st.Users))
	for u, s := range st.Users {
		r.Users = append(r.Users, UserCount{Name: u, Failures: s.Failures, Addresses: s.Addresses})
	}
	slices.SortFunc(r.Users, func(a, b UserCount) int {
		if c := cmp.Compare(b.Failures, a.Failures); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	r.Timeline, r.Step = timeline(st.Hours, loc)
	return r
}

// timeline lays the hourly counts out as contiguous buckets: hours when they
// span at most dayStep, else days starting at loc's midnight.
func timeline(hours map[int64]*analyze.HourStats, loc *time.Location) ([]Bucket, time.Duration) {
	if len(hours) == 0 {
		return nil, time.Hour
	}
	keys := slices.Sorted(maps.Keys(hours))
	first, last := time.Unix(keys[0], 0).In(loc), time.Unix(keys[len(keys)-1], 0).In(loc)
	step := time.Hour
	bucket := func(t time.Time) time.Time { return t.Truncate(time.Hour) }
	next := func(t time.Time) time.Time { return t.Add(time.Hour) }
	if last.Sub(first) >= dayStep {
		step = 24 * time.Hour
		bucket = func(t time.Time) time.Time {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, loc)
		}
		next = func(t time.Time) time.Time {
			y, m, d := t.Date()
			return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		}
	}
	var out []Bucket
	for t := bucket(first); !t.After(last); t = next(t) {
		out = append(out, Bucket{Start: t})
	}
	for _, k := range keys {
		t := bucket(time.Unix(k, 0).In(loc))
		i, _ := slices.BinarySearchFunc(out, t, func(b Bucket, t time.Time) int { return b.Start.Compare(t) })
		out[i].Failures += hours[k].Failures
		out[i].Bans += hours[k].Bans
	}
	return out, step
}
