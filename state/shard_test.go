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

// trackKeyOf is the key of a track in schema 3 and before.
func trackKeyOf(jail string, key netip.Prefix) []byte { return jailKey(jail, prefixBytes(key)) }

// smallShards makes shards of at most n tracks for the test.
func smallShards(t *testing.T, n int) {
	old := shardMax
	shardMax = n
	t.Cleanup(func() { shardMax = old })
}

// model is what the tracks should be: jail, key -> track.
type model map[string]map[netip.Prefix]*analyze.Track

func (m model) put(jail string, k netip.Prefix, tr *analyze.Track) {
	if m[jail] == nil {
		m[jail] = map[netip.Prefix]*analyze.Track{}
	}
	if tr == nil {
		delete(m[jail], k)
	} else {
		m[jail][k] = tr
	}
}

// checkShards checks the file against m: every track found by Track (a
// fresh transaction, and again with its shards read), ForEachTrack in key
// order with exactly m's tracks, and the layout: shards in range, none
// empty or past shardMax, each track at or past its shard's start, and
// one index entry per shard at its earliest expiry.
func checkShards(t *testing.T, db *DB, m model, probes []netip.Prefix) {
	t.Helper()
	err := db.View(func(tx *Tx) error {
		for jail, tracks := range m {
			for k, want := range tracks {
				got, err := tx.Track(jail, k)
				if err != nil || got == nil || !slices.Equal(got.Failures, want.Failures) || got.Offenses != want.Offenses {
					t.Errorf("%s %s: %+v, %v; want %+v", jail, k, got, err, want)
				}
			}
			for _, k := range probes {
				got, err := tx.Track(jail, k)
				if _, ok := tracks[k]; err != nil || ok != (got != nil) {
					t.Errorf("%s %s: found %v (%v), want %v", jail, k, got != nil, err, ok)
				}
			}
		}
		n := 0
		var last []byte
		err := tx.ForEachTrack(func(jail string, k netip.Prefix, tr *analyze.Track) error {
			n++
			key := jailKey(jail, prefixBytes(k))
			if last != nil && bytes.Compare(last, key) >= 0 {
				t.Errorf("ForEachTrack: %s %s out of order", jail, k)
			}
			last = key
			if want := m[jail][k]; want == nil || !slices.Equal(tr.Failures, want.Failures) {
				t.Errorf("ForEachTrack: %s %s %+v, want %+v", jail, k, tr, want)
			}
			return nil
		})
		if err != nil {
			return err
		}
		total := 0
		for _, tracks := range m {
			total += len(tracks)
		}
		if n != total {
			t.Errorf("ForEachTrack: %d tracks, want %d", n, total)
		}
		index := map[string]bool{}
		tx.tx.Bucket(bucketExpiry).ForEach(func(k, _ []byte) error {
			index[string(k)] = true
			return nil
		})
		shards := 0
		err = tx.tx.Bucket(bucketTracks).ForEach(func(k, v []byte) error {
			shards++
			s, err := decodeShard(k, v)
			if err != nil {
				return err
			}
			if len(s.ids) == 0 || len(s.ids) > shardMax {
				t.Errorf("shard %x: %d tracks (max %d)", k, len(s.ids), shardMax)
			}
			held := 0
			for _, v := range s.vals {
				held += len(v)
			}
			if held > shardBytes && len(s.ids) > 1 {
				t.Errorf("shard %x: %d bytes of tracks (max %d)", k, held, shardBytes)
			}
			if compareID(s.ids[0], s.start) < 0 {
				t.Errorf("shard %x: its first track lies below its start", k)
			}
			if !index[string(expiryKey(k, s.expires))] {
				t.Errorf("shard %x: no index entry at its expiry %d", k, s.expires)
			}
			return nil
		})
		if len(index) != shards {
			t.Errorf("%d index entries for %d shards", len(index), shards)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func addr4(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
}

// TestShardsRandom: random writes and deletes in several transactions,
// with shards of 4, 8 and 256 tracks (and of 300 bytes), in two jails, IPv4 and IPv6 keys,
// some looked up first (the Tx's shard cache) and some not: the file
// always holds what was written, in well-formed shards.
func TestShardsRandom(t *testing.T) {
	for _, c := range []struct{ max, bytes int }{{4, 64 << 10}, {8, 64 << 10}, {256, 64 << 10}, {256, 300}} {
		max := c.max
		t.Run(fmt.Sprint(max, "/", c.bytes), func(t *testing.T) {
			smallShards(t, max)
			old := shardBytes
			shardBytes = c.bytes
			defer func() { shardBytes = old }()
			db, _ := openTemp(t)
			rng := rand.New(rand.NewSource(int64(max)))
			m := model{}
			key := func() netip.Prefix {
				if rng.Intn(4) == 0 {
					return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 15: byte(rng.Intn(200))}), 128)
				}
				return addr4(rng.Intn(3000))
			}
			var probes []netip.Prefix
			for i := 0; i < 40; i++ {
				probes = append(probes, key())
			}
			for round := 0; round < 30; round++ {
				var us []TrackUpdate
				n := rng.Intn(400)
				if round < 3 {
					n = 2000 // a flood: splits many ways at once
				}
				err := db.Update(func(tx *Tx) error {
					for i := 0; i < n; i++ {
						jail := []string{"sshd", "nginx"}[rng.Intn(2)]
						k := key()
						if rng.Intn(3) == 0 {
							// read first, as a run does
							if _, err := tx.Track(jail, k); err != nil {
								return err
							}
						}
						u := TrackUpdate{Jail: jail, Key: k}
						if rng.Intn(5) > 0 || round < 3 {
							f := t0.Add(time.Duration(rng.Intn(3600)) * time.Second).UnixNano()
							u.Track = &analyze.Track{Failures: []int64{f, f + int64(rng.Intn(1000))}, Offenses: rng.Intn(3)}
							u.Expires = f + int64(time.Hour)
						}
						us = append(us, u)
					}
					if round%7 == 6 && len(us) > 0 {
						// one at a time, as ban and unban do
						for _, u := range us {
							if err := tx.PutTracks([]TrackUpdate{u}); err != nil {
								return err
							}
						}
						return nil
					}
					return tx.PutTracks(us)
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range us {
					m.put(u.Jail, u.Key, u.Track)
				}
				checkShards(t, db, m, probes)
				if t.Failed() {
					t.Fatalf("round %d", round)
				}
			}
		})
	}
}

// TestShardEdges: look-ups at a shard's start, just below and past it,
// below the first shard and past the last, each in a transaction of its
// own (read from the file) and in one that read the neighbours first.
func TestShardEdges(t *testing.T) {
	smallShards(t, 4)
	db, _ := openTemp(t)
	m := model{}
	var us []TrackUpdate
	for i := 10; i < 60; i += 2 { // even keys: the odd ones fall between
		tr := &analyze.Track{Failures: []int64{int64(i)}}
		us = append(us, TrackUpdate{Jail: "sshd", Key: addr4(i), Track: tr, Expires: int64(i)})
		m.put("sshd", addr4(i), tr)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutTracks(us) }); err != nil {
		t.Fatal(err)
	}
	var starts []int
	db.View(func(tx *Tx) error {
		return tx.tx.Bucket(bucketTracks).ForEach(func(k, _ []byte) error {
			_, id, _ := splitShardKey(k)
			starts = append(starts, int(id.lo&0xffff))
			return nil
		})
	})
	if len(starts) < 5 {
		t.Fatalf("shards start at %v: want several", starts)
	}
	var probes []netip.Prefix
	for _, s := range starts {
		probes = append(probes, addr4(s-1), addr4(s), addr4(s+1))
	}
	probes = append(probes, addr4(0), addr4(9), addr4(60), addr4(1000),
		netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"), netip.MustParsePrefix("ffff::/128"))
	checkShards(t, db, m, probes)
	// Each probe alone, in a transaction that read nothing before it.
	for _, p := range probes {
		db.View(func(tx *Tx) error {
			got, err := tx.Track("sshd", p)
			if _, ok := m["sshd"][p]; err != nil || ok != (got != nil) {
				t.Errorf("%s alone: found %v (%v), want %v", p, got != nil, err, ok)
			}
			if got, _ := tx.Track("other", p); got != nil {
				t.Errorf("%s found in a jail without tracks", p)
			}
			return nil
		})
	}
	// Below the first shard and between shards, then delete a whole
	// shard's tracks: the first moves down, the emptied one goes.
	var more []TrackUpdate
	for _, i := range []int{1, 2, 11, 13, 61} {
		tr := &analyze.Track{Failures: []int64{int64(i)}}
		more = append(more, TrackUpdate{Jail: "sshd", Key: addr4(i), Track: tr, Expires: int64(i)})
		m.put("sshd", addr4(i), tr)
	}
	for i := starts[2]; i < starts[3]; i++ {
		more = append(more, TrackUpdate{Jail: "sshd", Key: addr4(i)})
		m.put("sshd", addr4(i), nil)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutTracks(more) }); err != nil {
		t.Fatal(err)
	}
	checkShards(t, db, m, probes)
	db.View(func(tx *Tx) error {
		if v := tx.tx.Bucket(bucketTracks).Get(shardKey("sshd", idOf(addr4(starts[2])))); v != nil {
			t.Errorf("the emptied shard at %d stays", starts[2])
		}
		return nil
	})
}

// TestPurgeAcrossShards: a purge judges exactly the due tracks of every
// shard, rewrites the shards holding them (deleting emptied ones), and
// leaves one index entry per shard; a quiet purge judges none.
func TestPurgeAcrossShards(t *testing.T) {
	smallShards(t, 8)
	db, _ := openTemp(t)
	m := model{}
	rng := rand.New(rand.NewSource(1))
	var us []TrackUpdate
	for i := 0; i < 500; i++ {
		f := t0.Add(time.Duration(rng.Intn(100)) * time.Minute).UnixNano()
		tr := &analyze.Track{Failures: []int64{f}}
		us = append(us, TrackUpdate{Jail: "sshd", Key: addr4(i * 7), Track: tr, Expires: f})
		m.put("sshd", addr4(i*7), tr)
	}
	// A jail gone: all its tracks go, none judged.
	us = append(us, TrackUpdate{Jail: "gone", Key: addr4(1), Track: &analyze.Track{Failures: []int64{1}}, Expires: 1})
	m.put("gone", addr4(1), us[len(us)-1].Track)
	if err := db.Update(func(tx *Tx) error { return tx.PutTracks(us) }); err != nil {
		t.Fatal(err)
	}
	for _, minutes := range []int{30, 30, 60, 99} {
		at := t0.Add(time.Duration(minutes) * time.Minute)
		judged := 0
		var n int
		err := db.Update(func(tx *Tx) error {
			var err error
			n, err = tx.PurgeTracks(func(j string) (time.Time, bool) { return at, j == "sshd" },
				func(j string, tr *analyze.Track) (bool, int64) {
					judged++
					if tr.Failures[0] > at.UnixNano() {
						t.Errorf("judged a track not due: %d > %d", tr.Failures[0], at.UnixNano())
					}
					return true, 0
				})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for k, tr := range m["sshd"] {
			if tr.Failures[0] <= at.UnixNano() {
				want++
				delete(m["sshd"], k)
			}
		}
		if judged != want || n != want+len(m["gone"]) {
			t.Errorf("purge at +%dm: judged %d, deleted %d; want %d and %d", minutes, judged, n, want, want+len(m["gone"]))
		}
		delete(m, "gone")
		checkShards(t, db, m, nil)
	}
}

// TestSortOrder: the radix sort orders as the comparison sort does,
// keeping the order of equal keys.
func TestSortOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, n := range []int{0, 1, 100, 255, 256, 5000, 30000, -10000} {
		same := n < 0 // one key for all
		n = max(n, -n)
		o := make([]updateOrder, n)
		for i := range o {
			id := idOf(addr4(rng.Intn(300)))
			if same {
				id = idOf(addr4(7))
			}
			if rng.Intn(3) == 0 && !same {
				id = idOf(netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 1, 2: byte(rng.Intn(3)), 15: byte(rng.Intn(40))}), 64+rng.Intn(2)*64))
			}
			o[i] = updateOrder{hi: id.hi, lo: id.lo, bits: id.bits, is4: id.is4}
			if !same {
				o[i].jail = uint16(rng.Intn(3))
			}
			binary.LittleEndian.PutUint32(o[i].val[:], uint32(i)) // the place
		}
		want := slices.Clone(o)
		slices.SortStableFunc(want, func(a, b updateOrder) int {
			if a.jail != b.jail {
				return int(a.jail) - int(b.jail)
			}
			return compareID(a.id(), b.id())
		})
		sortOrder(o)
		if !slices.Equal(o, want) {
			t.Errorf("%d updates: radix order differs", n)
		}
	}
}

// TestMigrateSchema3: a file of schema 3 (a bbolt key per track, format
// 2 with its expiry, and an index entry per track), written here by raw
// bbolt, is packed into shards on open: every track survives with its
// expiry, which the next purges find.
func TestMigrateSchema3(t *testing.T) {
	smallShards(t, 16)
	path := filepath.Join(t.TempDir(), "state.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	exps := map[netip.Prefix]int64{}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketFiles, bucketTracks, bucketBans, bucketHistory, bucketOutbox, bucketExpiry} {
			tx.CreateBucket(name)
		}
		tx.Bucket(bucketMeta).Put(keyVersion, []byte{3})
		for i := 0; i < 300; i++ {
			jail := []string{"sshd", "postfix"}[i%2]
			k := addr4(i * 13)
			if i%10 == 0 {
				k = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 7: byte(i)}), 64)
			}
			tr := &analyze.Track{Failures: []int64{t0.Add(time.Duration(i) * time.Minute).UnixNano()}, Offenses: i % 3}
			exp := t0.Add(time.Duration(i+10) * time.Minute).UnixNano()
			tk := trackKeyOf(jail, k)
			// the old index key: jail, 0, expiry, track key
			ik := append(append(append([]byte(jail), 0), binary.BigEndian.AppendUint64(nil, uint64(exp)^1<<63)...), prefixBytes(k)...)
			if err := tx.Bucket(bucketTracks).Put(tk, encodeTrack(tr, exp)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketExpiry).Put(ik, nil); err != nil {
				return err
			}
			m.put(jail, k, tr)
			exps[k] = exp
		}
		return nil
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A read-only open (status) reads it as it is, every track found.
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ro.View(func(tx *Tx) error {
		n := 0
		tx.ForEachTrack(func(jail string, k netip.Prefix, tr *analyze.Track) error {
			if want := m[jail][k]; want == nil || !slices.Equal(tr.Failures, want.Failures) {
				t.Errorf("read-only, schema 3: %s %s %+v, want %+v", jail, k, tr, want)
			}
			n++
			return nil
		})
		if n != 300 {
			t.Errorf("read-only, schema 3: %d tracks, want 300", n)
		}
		for jail, tracks := range m {
			for k, want := range tracks {
				if got, err := tx.Track(jail, k); err != nil || got == nil || !slices.Equal(got.Failures, want.Failures) {
					t.Errorf("read-only, schema 3: Track %s %s: %+v, %v", jail, k, got, err)
				}
				if got, err := tx.Track(jail, netip.PrefixFrom(k.Addr().Next(), k.Bits())); err != nil || got != nil && tracks[netip.PrefixFrom(k.Addr().Next(), k.Bits())] == nil {
					t.Errorf("read-only, schema 3: Track %s next to %s: %+v, %v", jail, k, got, err)
				}
			}
		}
		return nil
	})
	ro.Close()
	db, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkShards(t, db, m, nil)
	db.View(func(tx *Tx) error {
		if v, _ := binary.Uvarint(tx.get(bucketMeta, keyVersion)); v != SchemaVersion {
			t.Errorf("schema %d after migration", v)
		}
		for jail, tracks := range m {
			for k := range tracks {
				sh, _ := tx.shardOf(jail, idOf(k))
				i, ok := sh.find(idOf(k))
				if !ok || sh.exps[i] != exps[k] {
					t.Errorf("%s %s: expiry lost in migration", jail, k)
				}
			}
		}
		return nil
	})
	// Purges find the tracks at their expiries, not before.
	for _, minutes := range []int{5, 150, 400} {
		at := t0.Add(time.Duration(minutes) * time.Minute)
		var n int
		err := db.Update(func(tx *Tx) error {
			var err error
			n, err = tx.PurgeTracks(func(string) (time.Time, bool) { return at, true },
				func(string, *analyze.Track) (bool, int64) { return true, 0 })
			return err
		})
		want := 0
		for _, tracks := range m {
			for k := range tracks {
				if exps[k] <= at.UnixNano() {
					want++
					delete(tracks, k)
				}
			}
		}
		if err != nil || n != want {
			t.Errorf("purge at +%dm: %d, %v; want %d", minutes, n, err, want)
		}
		checkShards(t, db, m, nil)
	}
}

// TestCorruptShard: a damaged shard value is reported as ErrCorrupt
// naming the state file, by every reader, never a panic.
func TestCorruptShard(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"truncated": func(v []byte) []byte { return v[:len(v)-3] },
		"format":    func(v []byte) []byte { v[0] = 9; return v },
		"count": func(v []byte) []byte {
			return append(v[:1:1], append(binary.AppendVarint(nil, 0), 0xff, 0xff, 0x03)...)
		},
		"trailing":     func(v []byte) []byte { return append(v, 1) },
		"empty":        func([]byte) []byte { return nil },
		"out of order": nil, // below
	} {
		t.Run(name, func(t *testing.T) {
			db, path := openTemp(t)
			var us []TrackUpdate
			for i := 0; i < 3; i++ {
				us = append(us, TrackUpdate{Jail: "sshd", Key: addr4(i), Track: &analyze.Track{Failures: []int64{1}}, Expires: 1})
			}
			err := db.Update(func(tx *Tx) error {
				if err := tx.PutTracks(us); err != nil {
					return err
				}
				tb := tx.tx.Bucket(bucketTracks)
				k, v := tb.Cursor().First()
				k, v = bytes.Clone(k), bytes.Clone(v)
				if damage == nil {
					es := []shardEntry{{idOf(addr4(2)), 1, encodeTrack(&analyze.Track{}, 1)}, {idOf(addr4(1)), 1, encodeTrack(&analyze.Track{}, 1)}}
					v, _ = encodeShard(es)
				} else {
					v = damage(v)
				}
				return tb.Put(k, v)
			})
			if err != nil {
				t.Fatal(err)
			}
			for what, read := range map[string]func(tx *Tx) error{
				"Track": func(tx *Tx) error { _, err := tx.Track("sshd", addr4(1)); return err },
				"ForEachTrack": func(tx *Tx) error {
					return tx.ForEachTrack(func(string, netip.Prefix, *analyze.Track) error { return nil })
				},
				"PutTracks": func(tx *Tx) error { return tx.PutTrack("sshd", addr4(1), &analyze.Track{}) },
				"PurgeTracks": func(tx *Tx) error {
					_, err := tx.PurgeTracks(func(string) (time.Time, bool) { return t0, true }, func(string, *analyze.Track) (bool, int64) { return true, 0 })
					return err
				},
			} {
				err := db.Update(func(tx *Tx) error { return read(tx) })
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "track shard sshd") {
					t.Errorf("%s: %v; want ErrCorrupt naming %s and the shard", what, err, path)
				}
			}
		})
	}
}

// TestPendingTracks: PutTrack and DeleteTrack are kept until the next
// write of many, purge, walk or commit, and read back meanwhile: every
// reader sees them as if written at once, a batch written after them
// wins, the caller's track is copied, and a read transaction refuses
// them.
func TestPendingTracks(t *testing.T) {
	db, _ := openTemp(t)
	a, b, c := addr4(1), addr4(2), addr4(3)
	tr := func(f int64) *analyze.Track { return &analyze.Track{Failures: []int64{f}} }
	err := db.Update(func(tx *Tx) error {
		return tx.PutTracks([]TrackUpdate{{Jail: "sshd", Key: c, Track: tr(3), Expires: 3}})
	})
	if err != nil {
		t.Fatal(err)
	}
	failures := func(tx *Tx, k netip.Prefix) []int64 {
		got, err := tx.Track("sshd", k)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			return nil
		}
		return got.Failures
	}
	err = db.Update(func(tx *Tx) error {
		mine := tr(1)
		if err := tx.PutTrack("sshd", a, mine); err != nil {
			return err
		}
		mine.Failures[0] = 99 // the caller's: not the state's
		if got := failures(tx, a); !slices.Equal(got, []int64{1}) {
			t.Errorf("pending track reads %v, want [1]", got)
		}
		got, _ := tx.Track("sshd", a)
		got.Failures[0] = 98 // the reader's copy
		if err := tx.DeleteTrack("sshd", c); err != nil {
			return err
		}
		if got := failures(tx, c); got != nil {
			t.Errorf("deleted track reads %v", got)
		}
		if err := tx.PutTrack("sshd", b, tr(2)); err != nil {
			return err
		}
		n := 0
		tx.ForEachTrack(func(string, netip.Prefix, *analyze.Track) error { n++; return nil })
		if n != 2 {
			t.Errorf("ForEachTrack: %d tracks, want 2 (a, b)", n)
		}
		// A batch after PutTrack wins.
		if err := tx.PutTrack("sshd", b, tr(20)); err != nil {
			return err
		}
		return tx.PutTracks([]TrackUpdate{{Jail: "sshd", Key: b, Track: tr(22), Expires: 22}})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutTrack("sshd", c, tr(30)); err != nil {
			return err
		}
		return nil // written at the commit
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		for k, want := range map[netip.Prefix][]int64{a: {1}, b: {22}, c: {30}} {
			if got := failures(tx, k); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", k, got, want)
			}
		}
		if err := tx.PutTrack("sshd", a, tr(5)); !errors.Is(err, ErrReadOnly) {
			t.Errorf("PutTrack in a read transaction: %v", err)
		}
		return nil
	})
	// Written with their index entries.
	var n int
	db.Update(func(tx *Tx) error {
		var err error
		n, err = tx.PurgeTracks(func(string) (time.Time, bool) { return t0, true },
			func(string, *analyze.Track) (bool, int64) { return true, 0 })
		return err
	})
	if n != 3 { // a and c due at once, b at 22 ns
		t.Errorf("purge deleted %d, want 3", n)
	}
}

// TestPendingChanged: a transaction whose only change is a track kept
// for the commit (PutTrack) has changed the state.
func TestPendingChanged(t *testing.T) {
	db, _ := openTemp(t)
	err := db.Update(func(tx *Tx) error {
		if tx.Changed() {
			t.Error("changed before any write")
		}
		if err := tx.PutTrack("sshd", addr4(1), &analyze.Track{Failures: []int64{1}}); err != nil {
			return err
		}
		if !tx.Changed() {
			t.Error("a pending PutTrack: not changed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
