package state

import (
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"logjail/analyze"
)

// The state's operations at 1,000, 10,000 and 100,000 entries, each
// reporting ns/entry: flat across the sizes when the operation is linear
// (issue 19). Entries come in random key order, as addresses do.
//
//	go test ./state -run X -bench . -benchtime 3x

var benchSizes = []int{1000, 10000, 100000}

func benchAddr(i int) netip.Prefix {
	x := uint32(i) * 2654435761 // distinct, scrambled
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}), 32)
}

func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchTracks(n int) []TrackUpdate {
	us := make([]TrackUpdate, n)
	for i := range us {
		f := t0.Add(time.Duration(rand.Intn(3600)) * time.Second).UnixNano()
		us[i] = TrackUpdate{Jail: "sshd", Key: benchAddr(i), Track: &analyze.Track{Failures: []int64{f}}, Expires: f + int64(10*time.Minute), New: true}
	}
	return us
}

func benchBans(n int) []*Ban {
	bans := make([]*Ban, n)
	for i := range bans {
		bans[i] = &Ban{Jail: "sshd", Prefix: benchAddr(i), Start: t0.Add(time.Duration(i) * time.Millisecond), Until: t0.Add(time.Hour), Offense: 1, Failures: 5}
	}
	return bans
}

func update(b *testing.B, db *DB, fn func(tx *Tx) error) {
	b.Helper()
	if err := db.Update(fn); err != nil {
		b.Fatal(err)
	}
}

// perEntry runs op b.N times over n entries (setup before each) and
// reports the time per entry. The time is op's, inside its transaction:
// the commit's fsync, some 20 ms here whatever the size, would hide the
// rest at small sizes. The commit's own linear part (writing the pages)
// shows in bench/flood.sh.
func perEntry(b *testing.B, n int, setup func() *DB, op func(db *DB, timed func(func())) error) {
	var total time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		db := setup()
		err := op(db, func(f func()) {
			start := time.Now()
			f()
			total += time.Since(start)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
}

// inTx runs f in a transaction (a write one when write), timing f alone.
func inTx(db *DB, write bool, timed func(func()), f func(tx *Tx) error) error {
	run := func(tx *Tx) error {
		var err error
		timed(func() { err = f(tx) })
		return err
	}
	if write {
		return db.Update(run)
	}
	return db.View(run)
}

func BenchmarkStateOps(b *testing.B) {
	for _, n := range benchSizes {
		empty := func() *DB { return benchDB(b) }
		withTracks := func() *DB {
			db := benchDB(b)
			update(b, db, func(tx *Tx) error { return tx.PutTracks(benchTracks(n)) })
			return db
		}
		withBans := func() *DB {
			db := benchDB(b)
			update(b, db, func(tx *Tx) error { return tx.PutBans(benchBans(n)) })
			return db
		}
		addEvents := func(tx *Tx) error {
			for i := 0; i < n; i++ {
				if err := tx.AddEvent(&Event{Kind: EventWarning, Text: "w"}); err != nil {
					return err
				}
			}
			return nil
		}
		withEvents := func() *DB {
			db := benchDB(b)
			update(b, db, addEvents)
			return db
		}
		withHistory := func() *DB {
			db := benchDB(b)
			update(b, db, func(tx *Tx) error { return tx.AddHistories(benchBans(n)) })
			return db
		}
		due := func(at time.Time) func(string) (time.Time, bool) {
			return func(string) (time.Time, bool) { return at, true }
		}
		judge := func(at time.Time) TrackJudge {
			return func(_ string, tr *analyze.Track) (bool, int64) {
				e := tr.Expiry(&analyze.Policy{FindTime: 10 * time.Minute})
				return e <= at.UnixNano(), e
			}
		}
		count := func(what string, got int, err error) error {
			if err == nil && got != n {
				err = fmt.Errorf("%s: %d of %d", what, got, n)
			}
			return err
		}
		ops := []struct {
			name  string
			setup func() *DB
			write bool
			f     func(tx *Tx) error
		}{
			{"PutTracks/new", empty, true, func(tx *Tx) error { return tx.PutTracks(benchTracks(n)) }},
			{"PutTracks/rewrite", withTracks, true, func(tx *Tx) error {
				us := benchTracks(n)
				for i := range us {
					us[i].New = false
					us[i].Expires += int64(time.Hour)
				}
				return tx.PutTracks(us)
			}},
			{"Track", withTracks, false, func(tx *Tx) error {
				for i := 0; i < n; i++ {
					if tr, err := tx.Track("sshd", benchAddr(i)); tr == nil || err != nil {
						return fmt.Errorf("track %d: %v", i, err)
					}
				}
				return nil
			}},
			{"PurgeTracks/all", withTracks, true, func(tx *Tx) error {
				at := t0.Add(2 * time.Hour)
				k, err := tx.PurgeTracks(due(at), judge(at))
				return count("purged", k, err)
			}},
			// Nothing due: one index key read, whatever n (ns/entry falls).
			{"PurgeTracks/quiet", withTracks, true, func(tx *Tx) error {
				k, err := tx.PurgeTracks(due(t0), judge(t0))
				if k != 0 {
					return fmt.Errorf("purged %d", k)
				}
				return err
			}},
			{"PutBans", empty, true, func(tx *Tx) error { return tx.PutBans(benchBans(n)) }},
			{"Ban", withBans, false, func(tx *Tx) error {
				for i := 0; i < n; i++ {
					if b, err := tx.Ban("sshd", benchAddr(i)); b == nil || err != nil {
						return fmt.Errorf("ban %d: %v", i, err)
					}
				}
				return nil
			}},
			{"Bans", withBans, false, func(tx *Tx) error { bans, err := tx.Bans(); return count("bans", len(bans), err) }},
			{"AddEvent", empty, true, addEvents},
			{"ClearEvents", withEvents, true, func(tx *Tx) error { k, err := tx.ClearEvents(); return count("cleared", k, err) }},
			{"PurgeHistory", withHistory, true, func(tx *Tx) error {
				k, err := tx.PurgeHistory(t0.Add(24 * time.Hour))
				return count("purged", k, err)
			}},
		}
		for _, op := range ops {
			b.Run(fmt.Sprintf("%s/%d", op.name, n), func(b *testing.B) {
				var size int64
				perEntry(b, n, op.setup, func(db *DB, timed func(func())) error {
					err := inTx(db, op.write, timed, op.f)
					if fi, e := os.Stat(db.Path()); e == nil {
						size = fi.Size()
					}
					return err
				})
				if op.name == "PutTracks/new" || op.name == "PutBans" {
					// The file holding n windows or bans: bytes per entry.
					b.ReportMetric(float64(size)/float64(n), "file-B/entry")
				}
			})
		}
	}
}
