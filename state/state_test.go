package state

import (
	"errors"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"logjail/analyze"
	"logjail/internal/testenv"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lib", "state.db")
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestCreateModes(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("state file mode %04o, want 0600", m)
	}
	di, _ := os.Stat(filepath.Dir(path))
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("state directory mode %04o, want 0700", m)
	}
}

func TestRoundTrip(t *testing.T) {
	db, path := openTemp(t)
	key := netip.MustParsePrefix("192.0.2.1/32")
	key6 := netip.MustParsePrefix("2001:db8:1::/64")
	tr := &analyze.Track{Failures: []int64{t0.UnixNano(), t0.Add(time.Second).UnixNano()}, BanStart: t0.UnixNano(), BanUntil: t0.Add(time.Hour).UnixNano(), Offenses: 2}
	ban := &Ban{Jail: "sshd", Prefix: key, Start: t0, Until: t0.Add(time.Hour), Offense: 1, Failures: 5, Users: []string{"root"}}
	perm := &Ban{Jail: "sshd", Prefix: key6, Start: t0, Offense: 3}
	type file struct{ Offset int64 }
	err := db.Update(func(tx *Tx) error {
		for _, f := range []func() error{
			func() error { return tx.PutTrack("sshd", key, tr) },
			func() error { return tx.PutTrack("sshd", key6, &analyze.Track{}) },
			func() error { return tx.PutBan(ban) },
			func() error { return tx.PutBan(perm) },
			func() error { return tx.AddHistory(ban) },
			func() error { return tx.PutFile("sshd", "/var/log/auth.log", file{1234}) },
			func() error { return tx.AddEvent(&Event{Kind: "ban", Time: t0, Ban: ban}) },
			func() error { return tx.SetLastRun(t0) },
			func() error { return tx.SetWarned("missing:/var/log/x", t0) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *Tx) error {
		got, err := tx.Track("sshd", key)
		if err != nil || !reflect.DeepEqual(got, tr) {
			t.Errorf("track %+v, %v; want %+v", got, err, tr)
		}
		keys := map[string]bool{}
		tx.ForEachTrack(func(j string, k netip.Prefix, _ *analyze.Track) error { keys[j+" "+k.String()] = true; return nil })
		if !keys["sshd 192.0.2.1/32"] || !keys["sshd 2001:db8:1::/64"] {
			t.Errorf("track keys %v", keys)
		}
		bans, err := tx.Bans()
		if err != nil || len(bans) != 2 {
			t.Fatalf("bans %v, %v", bans, err)
		}
		b, _ := tx.Ban("sshd", key6)
		if b == nil || !b.Permanent() || !b.ActiveAt(t0.Add(1000*time.Hour)) {
			t.Errorf("permanent ban %+v", b)
		}
		var f file
		if ok, err := tx.File("sshd", "/var/log/auth.log", &f); !ok || err != nil || f.Offset != 1234 {
			t.Errorf("file %+v %v %v", f, ok, err)
		}
		ev, _ := tx.Events()
		if len(ev) != 1 || ev[0].Ban.Prefix != key {
			t.Errorf("events %+v", ev)
		}
		if lr, ok := tx.LastRun(); !ok || !lr.Equal(t0) {
			t.Errorf("last run %v", lr)
		}
		if !tx.Warned("missing:/var/log/x") || tx.Warned("other") {
			t.Error("warned flags")
		}
		if err := tx.PutBan(ban); !errors.Is(err, ErrReadOnly) {
			t.Errorf("write in a read transaction: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHistoryAndOutbox(t *testing.T) {
	db, _ := openTemp(t)
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 5; i++ {
			b := &Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32"), Start: t0.Add(time.Duration(i) * time.Hour)}
			if err := tx.AddHistory(b); err != nil {
				return err
			}
			if err := tx.AddEvent(&Event{Kind: "ban", Ban: b}); err != nil {
				return err
			}
		}
		n, err := tx.PurgeHistory(t0.Add(2 * time.Hour))
		if n != 2 || err != nil {
			t.Errorf("purged %d, %v; want 2", n, err)
		}
		var seen []time.Time
		tx.History(t0, t0.Add(4*time.Hour), func(b *Ban) error { seen = append(seen, b.Start); return nil })
		if len(seen) != 2 || !seen[0].Equal(t0.Add(2*time.Hour)) {
			t.Errorf("history %v", seen)
		}
		ev, _ := tx.Events()
		if tx.OutboxEmpty() || len(ev) != 5 {
			t.Fatalf("outbox: %d events", len(ev))
		}
		// Deleted by number: 1 and 3 go, a number not there is skipped.
		if err := tx.DeleteEvents(ev[0].Seq, ev[2].Seq, 99); err != nil {
			return err
		}
		ev, _ = tx.Events()
		if len(ev) != 3 || ev[0].Seq != 2 || ev[1].Seq != 4 || ev[2].Seq != 5 {
			t.Errorf("outbox after delete: %+v", ev)
		}
		// Numbers only grow: a new event never takes a deleted one's.
		if err := tx.AddEvent(&Event{Kind: EventWarning, Text: "w"}); err != nil {
			return err
		}
		ev, _ = tx.Events()
		if last := ev[len(ev)-1]; last.Seq != 6 || last.Text != "w" {
			t.Errorf("new event %+v, want seq 6", last)
		}
		if n := tx.EventCount(); n != 4 {
			t.Errorf("event count %d, want 4", n)
		}
		if n, err := tx.ClearEvents(); n != 4 || err != nil || !tx.OutboxEmpty() || tx.EventCount() != 0 {
			t.Errorf("clear: %d, %v", n, err)
		}
		// Cleared, numbers still only grow.
		if err := tx.AddEvent(&Event{Kind: EventWarning, Text: "x"}); err != nil {
			return err
		}
		if ev, _ = tx.Events(); len(ev) != 1 || ev[0].Seq != 7 {
			t.Errorf("event after clear: %+v, want seq 7", ev)
		}
		if _, ok := tx.LastDigest(); ok {
			t.Error("last digest before any was sent")
		}
		if err := tx.SetLastDigest(t0); err != nil {
			return err
		}
		if ld, ok := tx.LastDigest(); !ok || !ld.Equal(t0) {
			t.Errorf("last digest %v %v", ld, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDigestFailure: the failed deliveries in a row are counted, with
// the first one's time, the latest's and its error (bounded), until they
// are cleared; a file without the keys (older logjail) has none, and so
// has one whose count is unreadable.
func TestDigestFailure(t *testing.T) {
	db, _ := openTemp(t)
	// Clearing nothing writes nothing: it works in a read transaction.
	err := db.View(func(tx *Tx) error {
		if f, ok := tx.DigestFailure(); ok {
			t.Errorf("a new file has a digest failure %+v", f)
		}
		return tx.ClearDigestFailure()
	})
	if err != nil {
		t.Fatalf("clearing no failure: %v", err)
	}
	long := strings.Repeat("é", MaxDigestError) // two bytes each: cut inside a rune
	err = db.Update(func(tx *Tx) error {
		if f, err := tx.AddDigestFailure(t0, "dial failed"); err != nil || f.Count != 1 || !f.Since.Equal(t0) || !f.Last.Equal(t0) {
			t.Errorf("first failure %+v %v", f, err)
		}
		if _, err := tx.AddDigestFailure(t0.Add(time.Minute), long); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		f, ok := tx.DigestFailure()
		if !ok || f.Count != 2 || !f.Since.Equal(t0) || !f.Last.Equal(t0.Add(time.Minute)) {
			t.Errorf("after two failures %+v %v", f, ok)
		}
		if len(f.Err) > MaxDigestError || !utf8.ValidString(f.Err) || !strings.HasSuffix(f.Err, "é...") {
			t.Errorf("error of %d bytes kept as %d bytes, valid UTF-8 %v, ending %q", len(long), len(f.Err), utf8.ValidString(f.Err), f.Err[len(f.Err)-6:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		if err := tx.ClearDigestFailure(); err != nil {
			return err
		}
		if f, ok := tx.DigestFailure(); ok {
			t.Errorf("cleared, still %+v", f)
		}
		// A new streak starts afresh.
		if f, _ := tx.AddDigestFailure(t0.Add(time.Hour), "x"); f.Count != 1 || !f.Since.Equal(t0.Add(time.Hour)) {
			t.Errorf("after clearing %+v", f)
		}
		tx.put(bucketMeta, keyDigestFailures, []byte("many"))
		if f, ok := tx.DigestFailure(); ok {
			t.Errorf("unreadable count read as %+v", f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPurgeTracks: tracks are purged by their index: due ones judged
// (stale ones deleted, live ones indexed again at their new expiry), the
// tracks of a jail gone deleted, the rest not read at all.
func TestPurgeTracks(t *testing.T) {
	db, _ := openTemp(t)
	p := &analyze.Policy{MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour, History: 24 * time.Hour}
	pfx := func(i int) netip.Prefix { return netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 32) }
	tracks := map[string]*analyze.Track{
		"live":     {Failures: []int64{t0.UnixNano()}},
		"stale":    {Failures: []int64{t0.Add(-time.Hour).UnixNano()}},
		"banned":   {BanStart: t0.Add(-time.Hour).UnixNano(), BanUntil: t0.Add(time.Hour).UnixNano(), Offenses: 1},
		"gonejail": {Failures: []int64{t0.UnixNano() - 1}},
		"unjudged": {Failures: []int64{t0.Add(-2 * time.Hour).UnixNano()}}, // PutTrack: due at once
	}
	keys := map[string]netip.Prefix{}
	err := db.Update(func(tx *Tx) error {
		var us []TrackUpdate
		i := 0
		for name, tr := range tracks {
			i++
			keys[name] = pfx(i)
			jail := "sshd"
			if name == "gonejail" {
				jail = "gone"
			}
			if name == "unjudged" {
				if err := tx.PutTrack(jail, pfx(i), tr); err != nil {
					return err
				}
				continue
			}
			us = append(us, TrackUpdate{Jail: jail, Key: pfx(i), Track: tr, Expires: tr.Expiry(p)})
		}
		return tx.PutTracks(us)
	})
	if err != nil {
		t.Fatal(err)
	}
	var judged []string
	purge := func(at time.Time) int {
		t.Helper()
		judged = nil
		var n int
		err := db.Update(func(tx *Tx) error {
			var err error
			n, err = tx.PurgeTracks(func(j string) (time.Time, bool) { return at, j == "sshd" },
				func(j string, tr *analyze.Track) (bool, int64) {
					for name, x := range tracks {
						if reflect.DeepEqual(x, tr) {
							judged = append(judged, name)
						}
					}
					return j != "sshd" || tr.Stale(p, at), tr.Expiry(p)
				})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	present := func(name string) bool {
		var tr *analyze.Track
		db.View(func(tx *Tx) error {
			jail := "sshd"
			if name == "gonejail" {
				jail = "gone"
			}
			tr, _ = tx.Track(jail, keys[name])
			return nil
		})
		return tr != nil
	}
	if n := purge(t0); n != 3 {
		t.Errorf("purge at t0: %d deleted, want 3 (stale, unjudged, jail gone)", n)
	}
	slices.Sort(judged)
	if want := []string{"stale", "unjudged"}; !slices.Equal(judged, want) {
		t.Errorf("judged %v, want %v (the gone jail's are not judged, the live not read)", judged, want)
	}
	for name, want := range map[string]bool{"live": true, "banned": true, "stale": false, "unjudged": false, "gonejail": false} {
		if present(name) != want {
			t.Errorf("%s: present %v, want %v", name, !want, want)
		}
	}
	// A quiet purge a moment later reads nothing.
	if n := purge(t0.Add(time.Second)); n != 0 || len(judged) != 0 {
		t.Errorf("quiet purge: %d deleted, judged %v", n, judged)
	}
	// The window passes: live goes; the ban is kept until History.
	if n := purge(t0.Add(2 * time.Minute)); n != 1 || present("live") || !present("banned") {
		t.Errorf("purge after the window: %d deleted", n)
	}
	if n := purge(t0.Add(25 * time.Hour)); n != 1 || present("banned") {
		t.Errorf("purge after History: %d deleted", n)
	}
	// The index is empty once the tracks are.
	db.View(func(tx *Tx) error {
		if n := tx.tx.Bucket(bucketExpiry).Stats().KeyN; n != 0 {
			t.Errorf("%d index entries left", n)
		}
		return nil
	})
}

// TestTrackJudgedLive: a due track that the policy of the day finds live
// (findtime made longer) is kept and indexed at the expiry it reports.
func TestTrackJudgedLive(t *testing.T) {
	db, _ := openTemp(t)
	key := netip.MustParsePrefix("192.0.2.1/32")
	tr := &analyze.Track{Failures: []int64{t0.UnixNano()}}
	longer := t0.Add(time.Hour).UnixNano()
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutTracks([]TrackUpdate{{Jail: "sshd", Key: key, Track: tr, Expires: t0.Add(time.Minute).UnixNano()}}); err != nil {
			return err
		}
		due := func(at time.Time) func(string) (time.Time, bool) {
			return func(string) (time.Time, bool) { return at, true }
		}
		calls := 0
		judge := func(string, *analyze.Track) (bool, int64) { calls++; return false, longer }
		if n, err := tx.PurgeTracks(due(t0.Add(2*time.Minute)), judge); n != 0 || err != nil || calls != 1 {
			t.Errorf("first purge: %d, %v, %d judged", n, err, calls)
		}
		if n, err := tx.PurgeTracks(due(t0.Add(30*time.Minute)), judge); n != 0 || err != nil || calls != 1 {
			t.Errorf("purge before the new expiry: %d, %v, %d judged (want not read again)", n, err, calls)
		}
		if n, err := tx.PurgeTracks(due(t0.Add(time.Hour)), func(string, *analyze.Track) (bool, int64) { return true, 0 }); n != 1 || err != nil {
			t.Errorf("purge at the new expiry: %d, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateSchema1: a file of schema 1 (tracks without an index, format
// 1) is migrated on open: every track indexed as due, so the next purge
// judges it; its tracks still read.
func TestMigrateSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := netip.MustParsePrefix("2001:db8::/64")
	old := []byte{trackFormat1, 0, 0, 0, 1, 2} // no ban, one failure at 1 ns
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketFiles, bucketTracks, bucketBans, bucketHistory, bucketOutbox} {
			tx.CreateBucket(name)
		}
		tx.Bucket(bucketMeta).Put(keyVersion, []byte{1})
		tx.Bucket(bucketMeta).Put(keyPurged, []byte(t0.Format(time.RFC3339)))
		return tx.Bucket(bucketTracks).Put(trackKeyOf("sshd", key), old)
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *Tx) error {
		tr, err := tx.Track("sshd", key)
		if err != nil || tr == nil || !slices.Equal(tr.Failures, []int64{1}) {
			t.Errorf("old track reads %+v, %v", tr, err)
		}
		if tx.get(bucketMeta, keyPurged) != nil {
			t.Error("schema 1's purge time kept")
		}
		n, err := tx.PurgeTracks(func(string) (time.Time, bool) { return time.Unix(0, 0), true },
			func(string, *analyze.Track) (bool, int64) { return true, 0 })
		if n != 1 || err != nil {
			t.Errorf("purge after migration: %d, %v; want the old track judged", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLocked(t *testing.T) {
	db, path := openTemp(t)
	_ = db
	start := time.Now()
	_, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: %v, want ErrLocked", err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("gave up before the timeout")
	}
	if _, err := Open(path, Options{Timeout: 100 * time.Millisecond, ReadOnly: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("reader while a writer holds the file: %v, want ErrLocked", err)
	}
}

func TestBadFiles(t *testing.T) {
	good := func(t *testing.T) string {
		db, path := openTemp(t)
		db.Update(func(tx *Tx) error {
			for i := 0; i < 2000; i++ {
				tx.PutTrack("sshd", netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}), 32), &analyze.Track{Failures: []int64{int64(i)}})
			}
			return nil
		})
		db.Close()
		return path
	}
	rng := rand.New(rand.NewSource(1))
	tests := []struct {
		name  string
		spoil func(t *testing.T, path string)
		want  error
	}{
		{"random bytes", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			rng.Read(b)
			os.WriteFile(path, b, 0o600)
		}, ErrCorrupt},
		{"truncated", func(t *testing.T, path string) { os.Truncate(path, 1000) }, ErrCorrupt},
		{"empty bytes", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) }, nil},
		{"world writable", func(t *testing.T, path string) { os.Chmod(path, 0o666) }, ErrPermissions},
		{"someone else's", func(t *testing.T, path string) {
			testenv.Root(t, "to chown")
			os.Chown(path, 65534, 65534)
		}, ErrPermissions},
		{"a directory", func(t *testing.T, path string) { os.Remove(path); os.Mkdir(path, 0o700) }, ErrCorrupt},
		{"newer schema", func(t *testing.T, path string) {
			db, err := Open(path, Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			db.b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte{9}) })
			db.Close()
		}, ErrNewerSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := good(t)
			tt.spoil(t, path)
			before, _ := os.ReadFile(path)
			db, err := Open(path, Options{Timeout: time.Second})
			if err == nil && tt.want == nil {
				db.Close()
				return
			}
			if err == nil {
				// Damage may only show when the pages are read.
				err = db.View(func(tx *Tx) error {
					return tx.ForEachTrack(func(string, netip.Prefix, *analyze.Track) error { return nil })
				})
				db.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("the damaged file was changed")
			}
		})
	}
}

// TestPutBansInOrder: bans and history written in one batch, given in
// random order, all read back, in key order, each found under its own
// key with its own fields (keys and values are cut from shared buffers;
// some values are longer than a buffer's chunk).
func TestPutBansInOrder(t *testing.T) {
	db, _ := openTemp(t)
	var bans []*Ban
	for _, i := range rand.Perm(500) {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if i%2 == 1 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		}
		b := &Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, a.BitLen()), Start: t0.Add(time.Duration(i) * time.Second), Until: t0.Add(time.Hour), Offense: 1 + i%7}
		if i%50 == 3 {
			b.Users = []string{strings.Repeat("u", 300+i), fmt.Sprint("user", i)}
			b.Origin = fmt.Sprint("host-", i)
		}
		bans = append(bans, b)
	}
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutBans(bans); err != nil {
			return err
		}
		return tx.AddHistories(bans)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		got, err := tx.Bans()
		if err != nil || len(got) != len(bans) {
			t.Fatalf("%d bans read, %v; want %d", len(got), err, len(bans))
		}
		for i := 1; i < len(got); i++ {
			if string(banKey(got[i-1].Jail, got[i-1].Prefix)) >= string(banKey(got[i].Jail, got[i].Prefix)) {
				t.Fatalf("bans out of key order at %d", i)
			}
		}
		for _, want := range bans {
			b, err := tx.Ban(want.Jail, want.Prefix)
			if err != nil || b == nil || !b.Start.Equal(want.Start) || b.Offense != want.Offense || b.Origin != want.Origin || !slices.Equal(b.Users, want.Users) {
				t.Fatalf("Ban(%s, %s) = %+v, %v; want %+v", want.Jail, want.Prefix, b, err, want)
			}
		}
		n := 0
		tx.History(t0, t0.Add(time.Hour), func(*Ban) error { n++; return nil })
		if n != len(bans) {
			t.Errorf("%d in history, want %d", n, len(bans))
		}
		return nil
	})
}
