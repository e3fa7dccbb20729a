package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"logjail/analyze"
)

func historyString(b *Ban) string {
	return fmt.Sprintf("%s %s %d %d %d %v %v %q %s", b.Jail, b.Prefix, b.Start.UnixNano(), b.Until.UnixNano(), b.Offense, b.Manual, b.Users, b.Origin, "")
}

// TestHistoryBatches: the bans of one jail and start time are kept in
// batches, read back one by one with all their fields beside single
// entries, found by time, purged by time, never overwritten by a later
// batch under the same key.
func TestHistoryBatches(t *testing.T) {
	db, path := openTemp(t)
	var first, second []*Ban // at t0 (sshd and one nginx), at t0+1h (sshd)
	mk := func(i int, start time.Time, jail string) *Ban {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		bits := 32
		switch i % 5 {
		case 1:
			a, bits = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 6: byte(i >> 8), 7: byte(i)}), 64
		case 2:
			bits = 24
		}
		p, _ := a.Prefix(bits)
		b := &Ban{Jail: jail, Prefix: p, Start: start, Until: start.Add(time.Duration(i) * time.Minute), Offense: 1 + i%4, Manual: i%3 == 0}
		if i%97 == 0 {
			b.Until = time.Time{} // permanent
		}
		if i%50 == 7 {
			b.Users = []string{strings.Repeat("u", 200+i%100), "root"} // an encoding over 127 bytes
			b.Origin = fmt.Sprint("host-", i)
		}
		return b
	}
	for i := range 1300 {
		first = append(first, mk(i, t0, "sshd"))
	}
	first = append(first, mk(5, t0, "nginx"), first[17]) // a single entry, a ban logged twice
	for i := range 700 {
		second = append(second, mk(i, t0.Add(time.Hour), "sshd"))
	}
	all := append(slices.Clone(first), second...)
	given := slices.Clone(all)
	rand.Shuffle(len(given), func(i, j int) { given[i], given[j] = given[j], given[i] })
	if err := db.Update(func(tx *Tx) error { return tx.AddHistories(given) }); err != nil {
		t.Fatal(err)
	}
	// The same first batch again, in a later transaction: kept beside.
	again := first[:600]
	if err := db.Update(func(tx *Tx) error { return tx.AddHistories(again) }); err != nil {
		t.Fatal(err)
	}
	read := func(from, to time.Time) []string {
		var got []string
		var last time.Time
		err := db.View(func(tx *Tx) error {
			return tx.History(from, to, func(b *Ban) error {
				if b.Start.Before(last) {
					t.Errorf("history out of time order: %s after %s", b.Start, last)
				}
				last = b.Start
				got = append(got, historyString(b))
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	want := func(bs ...[]*Ban) []string {
		var out []string
		for _, s := range bs {
			for _, b := range s {
				out = append(out, historyString(b))
			}
		}
		slices.Sort(out)
		return out
	}
	if got, w := read(t0, t0.Add(2*time.Hour)), want(all, again); !slices.Equal(got, w) {
		t.Fatalf("history: %d entries, want %d (first difference at %d)", len(got), len(w), firstDiff(got, w))
	}
	if got, w := read(t0.Add(30*time.Minute), t0.Add(2*time.Hour)), want(second); !slices.Equal(got, w) {
		t.Fatalf("history from t0+30m: %d entries, want %d", len(got), len(w))
	}
	// 1301 sshd bans at t0 in 3 batches, 1 nginx ban alone, 700 at t0+1h
	// in 2, the 600 again in 2.
	db.View(func(tx *Tx) error {
		if n := tx.tx.Bucket(bucketHistory).Stats().KeyN; n != 3+1+2+2 {
			t.Errorf("history holds %d keys, want 8", n)
		}
		return nil
	})
	var purged int
	if err := db.Update(func(tx *Tx) (err error) { purged, err = tx.PurgeHistory(t0.Add(time.Minute)); return err }); err != nil {
		t.Fatal(err)
	}
	if purged != 3+1+2 {
		t.Errorf("purged %d keys, want 6", purged)
	}
	if got, w := read(t0.Add(-time.Hour), t0.Add(2*time.Hour)), want(second); !slices.Equal(got, w) {
		t.Fatalf("history after the purge: %d entries, want %d", len(got), len(w))
	}

	// A damaged batch is reported, naming the file.
	err := db.Update(func(tx *Tx) error {
		c := tx.tx.Bucket(bucketHistory).Cursor()
		k, v := c.First()
		return tx.tx.Bucket(bucketHistory).Put(slices.Clone(k), slices.Clone(v[:len(v)-3]))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error { return tx.History(t0, t0.Add(2*time.Hour), func(*Ban) error { return nil }) })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged batch: err = %v, want ErrCorrupt naming %s", err, path)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestMigrateSchema4: a file of schema 4 opens as 5 with nothing
// rewritten (its tracks are in shards already) and its single history
// entries read beside the batches written after.
func TestMigrateSchema4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	single := &Ban{Jail: "sshd", Prefix: addr4(1), Start: t0, Until: t0.Add(time.Hour), Offense: 1}
	err = db.Update(func(tx *Tx) error {
		for i := range 40 {
			if err := tx.PutTrack("sshd", addr4(i), &analyze.Track{Failures: []int64{t0.UnixNano() + int64(i)}}); err != nil {
				return err
			}
		}
		return tx.AddHistory(single)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var tracks []byte
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error {
		tx.Bucket(bucketTracks).ForEach(func(k, v []byte) error { tracks = append(append(tracks, k...), v...); return nil })
		return tx.Bucket(bucketMeta).Put(keyVersion, []byte{4})
	})
	b.Close()

	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	batch := []*Ban{{Jail: "sshd", Prefix: addr4(2), Start: t0, Offense: 1}, {Jail: "sshd", Prefix: addr4(3), Start: t0, Offense: 2}}
	if err := db.Update(func(tx *Tx) error { return tx.AddHistories(batch) }); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		if v, _ := binary.Uvarint(tx.get(bucketMeta, keyVersion)); v != SchemaVersion {
			t.Errorf("schema %d after the open, want %d", v, SchemaVersion)
		}
		var now []byte
		tx.tx.Bucket(bucketTracks).ForEach(func(k, v []byte) error { now = append(append(now, k...), v...); return nil })
		if !bytes.Equal(now, tracks) {
			t.Error("the tracks of a schema-4 file were rewritten")
		}
		var got []string
		tx.History(t0, t0.Add(time.Hour), func(b *Ban) error { got = append(got, b.Prefix.String()); return nil })
		if slices.Sort(got); !slices.Equal(got, []string{"10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"}) {
			t.Errorf("history %v", got)
		}
		return nil
	})
}
