package state

import (
	"bytes"
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
)

func smallBanShards(t *testing.T, n int) {
	old := banShardMax
	banShardMax = n
	t.Cleanup(func() { banShardMax = old })
}

func banLine(b *Ban) string {
	return fmt.Sprintf("%s %s %d %d %d %v %q %q", b.Jail, b.Prefix, b.Start.UnixNano(), b.Until.UnixNano(), b.Offense, b.Manual, b.Users, b.Origin)
}

// checkBans compares the state's bans with the model, by Bans (all, in
// key order) and by Ban (each, and misses), and the shards' sizes.
func checkBans(t *testing.T, db *DB, m map[string]*Ban, probes []netip.Prefix, jails []string, max int) {
	t.Helper()
	db.View(func(tx *Tx) error {
		got, err := tx.Bans()
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, b := range m {
			want = append(want, banLine(b))
		}
		var gotLines []string
		for i := range got {
			gotLines = append(gotLines, banLine(&got[i]))
			if i > 0 && bytes.Compare(banKey(got[i-1].Jail, got[i-1].Prefix), banKey(got[i].Jail, got[i].Prefix)) >= 0 {
				t.Fatalf("Bans out of key order at %d: %s then %s", i, got[i-1].Prefix, got[i].Prefix)
			}
		}
		slices.Sort(want)
		slices.Sort(gotLines)
		if !slices.Equal(gotLines, want) {
			t.Fatalf("Bans: %d, want %d (first difference at %d)", len(gotLines), len(want), firstDiff(gotLines, want))
		}
		for _, j := range jails {
			for _, p := range probes {
				b, err := tx.Ban(j, p)
				w := m[j+" "+p.String()]
				switch {
				case err != nil:
					t.Fatalf("Ban(%s, %s): %v", j, p, err)
				case (b == nil) != (w == nil):
					t.Fatalf("Ban(%s, %s) = %v, want %v", j, p, b, w)
				case b != nil && banLine(b) != banLine(w):
					t.Fatalf("Ban(%s, %s) = %s, want %s", j, p, banLine(b), banLine(w))
				}
			}
		}
		return tx.tx.Bucket(bucketBans).ForEach(func(k, v []byte) error {
			s, err := decodeBanShard(k, v)
			if err != nil {
				t.Fatalf("shard %x: %v", k, err)
			}
			if len(s.ids) > max {
				t.Fatalf("shard %x holds %d bans, more than %d", k, len(s.ids), max)
			}
			return nil
		})
	})
}

// TestBanShardsRandom: random puts (one by one and many at once, repeats
// included) and deletes over several transactions, in three jails, with
// shards of at most 4 and of the default size, against a model.
func TestBanShardsRandom(t *testing.T) {
	for _, max := range []int{4, 256} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			smallBanShards(t, max)
			db, _ := openTemp(t)
			rng := rand.New(rand.NewSource(int64(max)))
			jails := []string{"sshd", "sshd-2", "nginx"}
			var probes []netip.Prefix
			for i := range 600 {
				a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
				bits := 32
				switch i % 7 {
				case 1:
					a, bits = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 6: byte(i >> 8), 7: byte(i)}), 64
				case 2:
					bits = 24
				}
				p, _ := a.Prefix(bits)
				probes = append(probes, p)
			}
			m := map[string]*Ban{}
			for round := range 25 {
				err := db.Update(func(tx *Tx) error {
					var many []*Ban
					for range rng.Intn(300) {
						j, p := jails[rng.Intn(len(jails))], probes[rng.Intn(len(probes))]
						b := &Ban{Jail: j, Prefix: p, Start: t0.Add(time.Duration(round) * time.Minute), Until: t0.Add(time.Duration(rng.Intn(1000)) * time.Minute), Offense: 1 + rng.Intn(5), Manual: rng.Intn(2) == 0}
						if rng.Intn(20) == 0 {
							b.Users, b.Origin = []string{strings.Repeat("x", 150), "root"}, "host-b"
						}
						switch r := rng.Intn(10); {
						case r < 6:
							many = append(many, b)
							m[j+" "+p.String()] = b
						case r < 8:
							if err := tx.PutBans(many); err != nil {
								return err
							}
							many = nil
							if err := tx.PutBan(b); err != nil {
								return err
							}
							m[j+" "+p.String()] = b
						default:
							if err := tx.PutBans(many); err != nil {
								return err
							}
							many = nil
							if err := tx.DeleteBan(j, p); err != nil {
								return err
							}
							delete(m, j+" "+p.String())
						}
					}
					return tx.PutBans(many)
				})
				if err != nil {
					t.Fatal(err)
				}
				checkBans(t, db, m, probes, jails, max)
			}
			// Everything deleted: no shard left.
			err := db.Update(func(tx *Tx) error {
				for _, b := range m {
					if err := tx.DeleteBan(b.Jail, b.Prefix); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			clear(m)
			checkBans(t, db, m, probes, jails, max)
			db.View(func(tx *Tx) error {
				if n := tx.tx.Bucket(bucketBans).Stats().KeyN; n != 0 {
					t.Errorf("%d shards left with no ban", n)
				}
				return nil
			})
		})
	}
}

// TestMigrateBans: the bans of a file of schema 4 (one per key) read as
// they are in a read-only open, and are packed in shards by the first
// write open; a damaged shard is reported naming the file.
func TestMigrateBans(t *testing.T) {
	smallBanShards(t, 8)
	path := filepath.Join(t.TempDir(), "state.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*Ban{}
	var probes []netip.Prefix
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			tx.CreateBucket(name)
		}
		tx.Bucket(bucketMeta).Put(keyVersion, []byte{4})
		for i := range 50 {
			p := addr4(i * 3)
			probes = append(probes, p, addr4(i*3+1))
			ban := &Ban{Jail: []string{"sshd", "nginx"}[i%2], Prefix: p, Start: t0, Until: t0.Add(time.Duration(i) * time.Hour), Offense: 1 + i%3}
			m[ban.Jail+" "+p.String()] = ban
			if err := tx.Bucket(bucketBans).Put(banKey(ban.Jail, p), encodeBan(ban)); err != nil {
				return err
			}
		}
		return nil
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	checkBans(t, ro, m, probes, []string{"sshd", "nginx"}, 1)
	ro.Close()

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkBans(t, db, m, probes, []string{"sshd", "nginx"}, 8)
	db.View(func(tx *Tx) error {
		if n := tx.tx.Bucket(bucketBans).Stats().KeyN; n != 5+5 {
			t.Errorf("%d shards after the migration, want 10 (25 bans a jail, 6 a shard)", n)
		}
		return nil
	})
	// A damaged shard.
	db.Update(func(tx *Tx) error {
		k, v := tx.tx.Bucket(bucketBans).Cursor().First()
		return tx.tx.Bucket(bucketBans).Put(slices.Clone(k), slices.Clone(v[:len(v)-2]))
	})
	err = db.View(func(tx *Tx) error { _, err := tx.Bans(); return err })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged shard: %v, want ErrCorrupt naming %s", err, path)
	}
	db.Close()
}

// TestKeyBelowEmptiedLeaf: the key below one whose leaf before was
// emptied in the same transaction (bbolt's Prev answers nil there), for
// the ban shards of a jail followed by another jail's.
func TestKeyBelowEmptiedLeaf(t *testing.T) {
	smallBanShards(t, 1) // a key per ban: many leaves
	db, _ := openTemp(t)
	var bans []*Ban
	for i := range 3000 {
		bans = append(bans, &Ban{Jail: "a", Prefix: addr4(i), Start: t0, Offense: 1}, &Ban{Jail: "b", Prefix: addr4(i), Start: t0, Offense: 1})
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutBans(bans) }); err != nil {
		t.Fatal(err)
	}
	err := db.Update(func(tx *Tx) error {
		for i := 1000; i < 2999; i++ { // whole leaves emptied
			if err := tx.DeleteBan("a", addr4(i)); err != nil {
				return err
			}
		}
		c := tx.tx.Bucket(bucketBans).Cursor()
		if k, _ := keyBelow(c, jailFloor("a"), shardKey("a", idOf(addr4(2999)))); !bytes.Equal(k, shardKey("a", idOf(addr4(999)))) {
			t.Errorf("keyBelow a 10.0.11.183 = %x, want the key of 10.0.3.231", k)
		}
		if k, _ := keyBelow(c, jailFloor("a"), shardKey("a", idOf(addr4(0)))); k != nil {
			t.Errorf("keyBelow the first key = %x, want none", k)
		}
		// The last ban of a, then one never banned: the seek lands on
		// b's first shard, the shard before is beyond emptied leaves.
		if err := tx.DeleteBan("a", addr4(2999)); err != nil {
			return err
		}
		if b, err := tx.Ban("a", addr4(2500)); b != nil || err != nil {
			t.Errorf("Ban(a, 10.0.9.196) = %v, %v after its delete", b, err)
		}
		return tx.PutBan(&Ban{Jail: "a", Prefix: addr4(2000), Start: t0, Offense: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		got, err := tx.Bans()
		if err != nil || len(got) != 1000+1+3000 {
			t.Fatalf("%d bans, %v; want 4001", len(got), err)
		}
		if b, err := tx.Ban("a", addr4(2000)); err != nil || b == nil || b.Offense != 2 {
			t.Errorf("Ban(a, 10.0.7.208) = %v, %v", b, err)
		}
		return nil
	})
}
