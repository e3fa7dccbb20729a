package analyze

import (
	"container/heap"
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"time"
)

// ReplayJail is one jail of a replay: its filter and its policy.
type ReplayJail struct {
	Name   string
	Filter *Filter
	Mode   string
	Policy *Policy
	// Compare, when set, judges the same failures by a second policy, in
	// the same pass: its bans go to ReplayStats.CompareBans, and nothing
	// else of the replay depends on it (what-if against configured).
	Compare *Policy
}

// ReplayOptions say what a replay reads and how.
type ReplayOptions struct {
	Jails []ReplayJail
	// From and To keep the failures in [From, To); zero means open.
	From, To time.Time
	// Ref is the reference for dates without a year; zero takes each
	// file's modification time.
	Ref time.Time
	// Loc is the zone of times written without one (nil: time.Local).
	Loc *time.Location
	// Progress, when set, is called now and then with the bytes read so far
	// of all files (compressed bytes for gzip files), plus the records
	// read of Records.
	Progress func(read int64)
	// Records are inputs that come record by record rather than as text
	// files (the systemd journal), each one stream merged by time with
	// the files.
	Records []RecordSource
}

// RecordSource is an input of Replay read record by record.
type RecordSource interface {
	// Name names the input in reports and errors.
	Name() string
	// Next returns the next record: a line that reads as the record (time,
	// host, tag, message), its header already split (nil: filters parse
	// the line), and which jails may see it (bit i for ReplayOptions.Jails
	// [i]). ok is false at the end or on an error (see Err). The slices
	// are valid until the next call.
	Next() (line []byte, h *Header, jails uint64, ok bool)
	// Err returns the error that ended the records, nil at a clean end;
	// it names the source.
	Err() error
	// Read returns how many records have been read.
	Read() int64
	// Close stops reading and frees what the source holds.
	Close() error
}

// ReplayStats is what a replay found. Its size grows with the distinct
// addresses, user names and hours seen, never with the number of lines.
type ReplayStats struct {
	Files []ReplayFileStats
	// Lines counts every line read; Failures every failure kept (inside
	// From/To, not of an ignored address). NoAddr counts the kept failures
	// that name the client by host name only: counted, never banned.
	Lines, Failures, NoAddr int64
	// Ambiguous counts the lines the filters skipped because client text
	// stood on both sides of the address (Outcome Ambiguous).
	Ambiguous int64
	// First and Last are the times of the first and last kept failure.
	First, Last time.Time
	Jails       []ReplayJailStats
	Addrs       map[netip.Addr]*AddrStats
	Users       map[string]*UserStats
	// Bans are the bans the policy issues, in the order decided;
	// CompareBans those of the jails' Compare policies.
	Bans, CompareBans []ReplayBan
	// Hours counts failures and bans per hour (Unix seconds of the hour's
	// start, UTC).
	Hours map[int64]*HourStats
}

// ReplayFileStats is one input file.
type ReplayFileStats struct {
	Path       string
	Compressed bool
	Lines      int64
	// Long counts lines skipped for exceeding MaxLineLen.
	Long int64
	// Ambiguous counts lines a filter skipped because client text stood
	// on both sides of the address (Outcome Ambiguous).
	Ambiguous int64
}

// ReplayJailStats are one jail's totals.
type ReplayJailStats struct {
	Name      string
	Failures  int64
	Addresses int
	Bans      int
}

// AddrStats describe one address.
type AddrStats struct {
	Failures    int64
	First, Last time.Time
	// Jails has bit i set for the jail of index i in ReplayOptions.Jails.
	Jails uint64
	// Users are the first distinct user names tried, at most MaxAddrUsers.
	Users []string

	// What the replay needs at each failure, so that most failures cost
	// one map lookup: the stats of Users, and the track per jail.
	userStats []*UserStats
	moreUsers map[string]*UserStats
	tracks    []*Track
}

// MaxAddrUsers bounds the user names kept per address.
const MaxAddrUsers = 8

// UserStats describe one user name: attempts, and the distinct addresses
// that tried it.
type UserStats struct {
	Failures  int64
	Addresses int
}

// HourStats count one hour.
type HourStats struct{ Failures, Bans int64 }

// ReplayBan is a ban the policy issues.
type ReplayBan struct {
	Jail string
	Decision
}

// maxReplayJails is how many jails AddrStats.Jails can tell apart.
const maxReplayJails = 64

// Replay reads the files, merged by time, through every jail's filter and
// policy, as `run` would over the same lines. Files may be plain or gzip,
// given in any order. An error names the file; nothing is reported then.
func Replay(ctx context.Context, files []string, o ReplayOptions) (*ReplayStats, error) {
	if len(o.Jails) > maxReplayJails {
		return nil, fmt.Errorf("replay: at most %d jails at once, got %d", maxReplayJails, len(o.Jails))
	}
	r := &replay{
		o:       o,
		st:      &ReplayStats{Addrs: map[netip.Addr]*AddrStats{}, Users: map[string]*UserStats{}, Hours: map[int64]*HourStats{}},
		tracks:  make([]map[netip.Prefix]*Track, len(o.Jails)),
		ctracks: make([]map[netip.Prefix]*Track, len(o.Jails)),
		jaddrs:  make([]int, len(o.Jails)),
	}
	for i, j := range o.Jails {
		r.tracks[i] = map[netip.Prefix]*Track{}
		if j.Compare != nil {
			r.ctracks[i] = map[netip.Prefix]*Track{}
		}
		r.st.Jails = append(r.st.Jails, ReplayJailStats{Name: j.Name})
	}
	var streams streamHeap
	defer func() {
		for _, s := range r.all {
			if s.rec != nil {
				s.rec.Close()
			} else {
				s.log.Close()
			}
		}
	}()
	for _, path := range files {
		s, err := r.open(path)
		if err != nil {
			return nil, err
		}
		r.all = append(r.all, s)
	}
	for _, rs := range o.Records {
		s := &stream{r: r, order: len(r.all), rec: rs, tp: NewTimeParser(o.Ref, o.Loc), file: ReplayFileStats{Path: rs.Name()}}
		for _, j := range r.o.Jails {
			s.matchers = append(s.matchers, j.Filter.New(j.Mode))
		}
		r.all = append(r.all, s)
	}
	for _, s := range r.all {
		if err := s.advance(); err != nil {
			return nil, err
		}
		if len(s.pending) > 0 {
			streams = append(streams, s)
		}
	}
	heap.Init(&streams)
	for len(streams) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := streams[0]
		// Take the head's failures while it stays the earliest stream:
		// with one file, or files that do not overlap, that is all of them.
		for {
			r.failure(s.jails[s.next], &s.pending[s.next])
			s.next++
			if s.next == len(s.pending) {
				if err := s.advance(); err != nil {
					return nil, err
				}
				if len(s.pending) == 0 {
					heap.Pop(&streams)
					break
				}
			}
			if streams.yield() {
				heap.Fix(&streams, 0)
				break
			}
		}
	}
	for _, s := range r.all {
		r.st.Lines += s.file.Lines
		r.st.Ambiguous += s.file.Ambiguous
		r.st.Files = append(r.st.Files, s.file)
	}
	for i := range r.st.Jails {
		r.st.Jails[i].Addresses = r.jaddrs[i]
	}
	if r.o.Progress != nil {
		r.o.Progress(r.read())
	}
	return r.st, nil
}

type replay struct {
	o      ReplayOptions
	st     *ReplayStats
	all    []*stream
	tracks []map[netip.Prefix]*Track
	// ctracks are the tracks of the Compare policies, per jail.
	ctracks []map[netip.Prefix]*Track
	jaddrs  []int // distinct addresses per jail
	// reported is the byte count last given to Progress.
	reported int64
	// The hour counted last, looked up again by most failures.
	lastHour  int64
	lastStats *HourStats
	// The address counted last and its stats: an attack's failures come
	// one after another, so most failures need no lookup in Addrs.
	lastAddr  netip.Addr
	lastAddrs *AddrStats
}

// stream is one file being read: the failures of its current line wait in
// pending, from next on.
type stream struct {
	r     *replay
	order int
	log   *Log
	lines *LineReader
	// rec is the input of a record stream, instead of log and lines;
	// num counts its records.
	rec      RecordSource
	num      int64
	tp       *TimeParser
	matchers []Matcher
	// pending are the failures of the current line, from next on, and
	// jails the index of the jail that found each.
	pending []Failure
	jails   []int
	next    int
	file    ReplayFileStats
}

func (r *replay) open(path string) (*stream, error) {
	l, err := OpenLog(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOMAXPROCS(0) > 1 {
		l.ReadAhead()
	}
	ref := r.o.Ref
	if ref.IsZero() {
		ref = l.Info.ModTime()
	}
	s := &stream{r: r, order: len(r.all), log: l, lines: NewLineReader(l), tp: NewTimeParser(ref, r.o.Loc),
		file: ReplayFileStats{Path: path, Compressed: l.Compressed}}
	// A replayed file is taken as it is: its last line counts, ended by
	// a newline or not.
	s.lines.Closed = true
	for _, j := range r.o.Jails {
		s.matchers = append(s.matchers, j.Filter.New(j.Mode))
	}
	return s, nil
}

// progressEvery is how many lines pass between two looks at the bytes read.
const progressEvery = 1 << 16

// advance reads lines until one yields failures, or the file ends.
func (s *stream) advance() error {
	s.pending, s.jails, s.next = s.pending[:0], s.jails[:0], 0
	if s.rec != nil {
		return s.advanceRecords()
	}
	for {
		line, ok := s.lines.Next()
		if !ok {
			break
		}
		s.file.Lines++
		if s.r.o.Progress != nil && s.file.Lines%progressEvery == 0 {
			s.r.progress()
		}
		s.match(s.lines.Num(), line, ^uint64(0))
		if len(s.pending) > 0 {
			s.sortPending()
			return nil
		}
	}
	s.file.Long = s.lines.Long
	if err := s.lines.Err(); err != nil {
		return fmt.Errorf("replay %s: %w", s.file.Path, err)
	}
	return nil
}

// match runs the matchers that mask selects (all of them: ^0, however
// many there are) over one line, counts the
// line when a filter skipped it as ambiguous, and notes the jail of each
// new failure.
func (s *stream) match(num int64, line []byte, mask uint64) {
	for ji, m := range s.matchers {
		if mask != ^uint64(0) && mask&(1<<ji) == 0 {
			continue
		}
		n := len(s.pending)
		var out Outcome
		s.pending, out = m.Match(s.pending, num, line, s.tp)
		if out == Ambiguous {
			s.file.Ambiguous++
		}
		for range len(s.pending) - n {
			s.jails = append(s.jails, ji)
		}
	}
}

// advanceRecords is advance for a record stream.
func (s *stream) advanceRecords() error {
	for {
		line, h, mask, ok := s.rec.Next()
		if !ok {
			break
		}
		s.num++
		s.file.Lines++
		if s.r.o.Progress != nil && s.file.Lines%progressEvery == 0 {
			s.r.progress()
		}
		s.tp.Preset(h)
		s.match(s.num, line, mask)
		s.tp.Preset(nil)
		if len(s.pending) > 0 {
			s.sortPending()
			return nil
		}
	}
	if err := s.rec.Err(); err != nil {
		return fmt.Errorf("replay: %w", err) // it names its source
	}
	return nil
}

// sortPending puts a line's failures in time order (sshd may complete an
// earlier attempt and a new one on the same line; jails see the same line
// apart). Lines rarely hold more than one, so insertion sort serves.
func (s *stream) sortPending() {
	for i := 1; i < len(s.pending); i++ {
		for j := i; j > 0 && s.pending[j].Time.Before(s.pending[j-1].Time); j-- {
			s.pending[j], s.pending[j-1] = s.pending[j-1], s.pending[j]
			s.jails[j], s.jails[j-1] = s.jails[j-1], s.jails[j]
		}
	}
}

func (r *replay) read() int64 {
	var n int64
	for _, s := range r.all {
		if s.rec != nil {
			n += s.rec.Read()
		} else {
			n += s.log.Pos()
		}
	}
	return n
}

func (r *replay) progress() {
	if n := r.read(); n != r.reported {
		r.reported = n
		r.o.Progress(n)
	}
}

// failure counts one failure and runs it through its jail's policy.
func (r *replay) failure(ji int, f *Failure) {
	if (!r.o.From.IsZero() && f.Time.Before(r.o.From)) || (!r.o.To.IsZero() && !f.Time.Before(r.o.To)) {
		return
	}
	j := &r.o.Jails[ji]
	if j.Compare != nil && f.Addr.IsValid() {
		r.compare(ji, j, f)
	}
	pol := j.Policy
	if f.Addr.IsValid() && pol.Ignored(f.Addr) {
		return
	}
	st := r.st
	st.Failures++
	st.Jails[ji].Failures++
	if st.First.IsZero() || f.Time.Before(st.First) {
		st.First = f.Time
	}
	if f.Time.After(st.Last) {
		st.Last = f.Time
	}
	r.hour(f.Time).Failures++
	if !f.Addr.IsValid() {
		st.NoAddr++
		return
	}
	a := r.lastAddrs
	if a == nil || f.Addr != r.lastAddr {
		if a = st.Addrs[f.Addr]; a == nil {
			a = &AddrStats{First: f.Time, Last: f.Time, tracks: make([]*Track, len(r.o.Jails))}
			st.Addrs[f.Addr] = a
		}
		r.lastAddr, r.lastAddrs = f.Addr, a
	}
	a.Failures++
	if f.Time.Before(a.First) {
		a.First = f.Time
	}
	if f.Time.After(a.Last) {
		a.Last = f.Time
	}
	if bit := uint64(1) << ji; a.Jails&bit == 0 {
		a.Jails |= bit
		r.jaddrs[ji]++
	}
	if f.User != "" {
		r.user(a, f)
	}
	tr := a.tracks[ji]
	if tr == nil {
		// Addresses of one IPv6 network share its track.
		key := pol.Key(f.Addr)
		if tr = r.tracks[ji][key]; tr == nil {
			tr = &Track{}
			r.tracks[ji][key] = tr
		}
		a.tracks[ji] = tr
	}
	var nt *Track
	net, hasNet := pol.NetKey(f.Addr)
	if hasNet {
		if nt = r.tracks[ji][net]; nt == nil {
			nt = &Track{}
			r.tracks[ji][net] = nt
		}
	}
	d, ok := pol.Fail(tr, pol.Key(f.Addr), nt, net, f.Time)
	if !ok {
		return
	}
	st.Bans = append(st.Bans, ReplayBan{Jail: j.Name, Decision: d})
	st.Jails[ji].Bans++
	r.hour(d.Start).Bans++
}

// compare runs a failure through the jail's Compare policy, which keeps
// tracks of its own.
func (r *replay) compare(ji int, j *ReplayJail, f *Failure) {
	pol := j.Compare
	if pol.Ignored(f.Addr) {
		return
	}
	track := func(key netip.Prefix) *Track {
		tr := r.ctracks[ji][key]
		if tr == nil {
			tr = &Track{}
			r.ctracks[ji][key] = tr
		}
		return tr
	}
	key := pol.Key(f.Addr)
	var nt *Track
	net, hasNet := pol.NetKey(f.Addr)
	if hasNet {
		nt = track(net)
	}
	if d, ok := pol.Fail(track(key), key, nt, net, f.Time); ok {
		r.st.CompareBans = append(r.st.CompareBans, ReplayBan{Jail: j.Name, Decision: d})
	}
}

// user counts a user name tried by an address.
func (r *replay) user(a *AddrStats, f *Failure) {
	for i, u := range a.Users {
		if u == f.User {
			a.userStats[i].Failures++
			return
		}
	}
	if u := a.moreUsers[f.User]; u != nil {
		u.Failures++
		return
	}
	u := r.st.Users[f.User]
	if u == nil {
		u = &UserStats{}
		r.st.Users[f.User] = u
	}
	u.Failures++
	u.Addresses++
	if len(a.Users) < MaxAddrUsers {
		a.Users = append(a.Users, f.User)
		a.userStats = append(a.userStats, u)
		return
	}
	// Past the first few names of an address, the rest are looked up.
	if a.moreUsers == nil {
		a.moreUsers = map[string]*UserStats{}
	}
	a.moreUsers[f.User] = u
}

func (r *replay) hour(t time.Time) *HourStats {
	k := t.Unix()
	k -= (k%3600 + 3600) % 3600
	if k == r.lastHour && r.lastStats != nil {
		return r.lastStats
	}
	h := r.st.Hours[k]
	if h == nil {
		h = &HourStats{}
		r.st.Hours[k] = h
	}
	r.lastHour, r.lastStats = k, h
	return h
}

// streamHeap orders streams by their next failure's time, then by the
// order the files were given.
type streamHeap []*stream

func (h streamHeap) Len() int           { return len(h) }
func (h streamHeap) Less(i, j int) bool { return before(h[i], h[j]) }
func (h streamHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *streamHeap) Push(x any)        { *h = append(*h, x.(*stream)) }
func (h *streamHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

// yield reports whether the head must give way to one of its children.
func (h streamHeap) yield() bool {
	return (len(h) > 1 && before(h[1], h[0])) || (len(h) > 2 && before(h[2], h[0]))
}

// before orders two streams by their next failure.
func before(a, b *stream) bool {
	ta, tb := a.pending[a.next].Time, b.pending[b.next].Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.order < b.order
}
