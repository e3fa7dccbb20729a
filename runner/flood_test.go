package runner

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logjail/analyze"
	"logjail/config"
	"logjail/state"
)

var floodT0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func floodLine(i int, at time.Time, addr netip.Addr) string {
	return fmt.Sprintf("%s h sshd[%d]: Failed password for root from %s port 4242 ssh2", at.Format(time.Stamp), 1000+i, addr)
}

func floodConfig(t *testing.T, log, extra string) *config.Config {
	t.Helper()
	y := fmt.Sprintf("firewall: {backend: none}\njails:\n  sshd:\n    logpath: [%s]\n    maxretry: 5\n    findtime: 10m\n%s", log, extra)
	cfg, err := config.Parse(strings.NewReader(y), "flood.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestIPv6Rotation: 500 failures, each from a new address of
// 2001:db8:1:2::/64, with the default configuration: the /64 is banned at
// its fifth failure, by run and by replay alike, and the state keeps no
// window per address beyond those five; with count_prefix6 128 nothing is
// banned (the hole the rule closes).
func TestIPv6Rotation(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	var lines []string
	for i := 0; i < 500; i++ {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		lines = append(lines, floodLine(i, floodT0.Add(time.Duration(i)*time.Second), a))
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := floodT0.Add(10 * time.Minute)
	want := []string{"sshd 2001:db8:1:2::/64 2026-11-24T10:00:04Z 2026-11-24T11:00:04Z #1"}
	for _, tc := range []struct {
		extra string
		want  []string
	}{{"    bantime: 1h\n", want}, {"    bantime: 1h\n    count_prefix6: 128\n", nil}} {
		cfg := floodConfig(t, log, tc.extra)
		replayed := replayBans(t, cfg, log, now, time.UTC)
		db := openDB(t)
		res, err := Run(context.Background(), db, Options{Config: cfg, Now: now})
		if err != nil || len(res.Problems) > 0 {
			t.Fatalf("run: %v %v", err, res.Problems)
		}
		var ran []string
		for _, b := range res.Bans {
			ran = append(ran, banString(b))
		}
		if !slices.Equal(ran, tc.want) || !slices.Equal(replayed, tc.want) {
			t.Errorf("%q: run banned %v, replay %v; want %v", tc.extra, ran, replayed, tc.want)
		}
		windows := 0
		db.View(func(tx *state.Tx) error {
			return tx.ForEachTrack(func(string, netip.Prefix, *analyze.Track) error { windows++; return nil })
		})
		if tc.want != nil && windows > 6 {
			t.Errorf("%d tracks kept after the /64's ban; want the /64 and the 5 addresses before it", windows)
		}
	}
}

// TestFloodPieces: a flood (IPv4 addresses seen once, a few seen often,
// IPv6 rotations in two /64s, over an hour with findtime 10m) through Run
// in several pieces, each run at its piece's last line, ends in the same
// state (bans, history, windows) as one Run over all of it; and windows
// whose findtime has passed are gone after the run that passes them.
func TestFloodPieces(t *testing.T) {
	var lines []string
	for i := 0; i < 6000; i++ {
		at := floodT0.Add(time.Duration(i) * 600 * time.Millisecond)
		var a netip.Addr
		switch {
		case i%10 == 0:
			a = netip.AddrFrom4([4]byte{198, 51, 100, byte(i / 10 % 7)})
		case i%10 == 1:
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, byte(i / 10 % 2), 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		default:
			a = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		lines = append(lines, floodLine(i, at, a))
	}
	end := floodT0.Add(3600 * time.Second)
	type dump struct{ bans, history, tracks []string }
	read := func(db *state.DB) dump {
		var d dump
		err := db.View(func(tx *state.Tx) error {
			bans, err := tx.Bans()
			for _, b := range bans {
				d.bans = append(d.bans, banString(b))
			}
			if err != nil {
				return err
			}
			tx.History(floodT0.Add(-time.Hour), end.Add(time.Hour), func(b *state.Ban) error { d.history = append(d.history, banString(*b)); return nil })
			return tx.ForEachTrack(func(j string, k netip.Prefix, tr *analyze.Track) error {
				d.tracks = append(d.tracks, fmt.Sprintf("%s %s %v %d %d %d", j, k, tr.Failures, tr.BanStart, tr.BanUntil, tr.Offenses))
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	run := func(pieces int) dump {
		dir := t.TempDir()
		log := filepath.Join(dir, "auth.log")
		cfg := floodConfig(t, log, "    bantime: 15m\n    bantime_increment: {enabled: true}\n")
		db := openDB(t)
		fh, err := os.Create(log)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		per := len(lines) / pieces
		for p := 0; p < pieces; p++ {
			chunk := lines[p*per : (p+1)*per]
			fmt.Fprintln(fh, strings.Join(chunk, "\n"))
			now, _ := time.Parse(time.Stamp, chunk[len(chunk)-1][:15])
			now = now.AddDate(2026, 0, 0)
			if p == pieces-1 {
				now = end
			}
			res, err := Run(context.Background(), db, Options{Config: cfg, Now: now})
			if err != nil || len(res.Problems) > 0 {
				t.Fatalf("run %d: %v %v", p, err, res.Problems)
			}
		}
		return read(db)
	}
	one := run(1)
	if len(one.bans) < 8 || len(one.tracks) == 0 {
		t.Fatalf("one run: %d bans, %d tracks: too few to compare", len(one.bans), len(one.tracks))
	}
	// The last line is at end-0.6s: windows of failures before end-10m
	// are gone.
	for _, tr := range one.tracks {
		var j, k string
		fmt.Sscanf(tr, "%s %s", &j, &k)
		if strings.HasPrefix(k, "10.") {
			a := netip.MustParsePrefix(k).Addr().As4()
			i := int(a[1])<<16 | int(a[2])<<8 | int(a[3])
			if floodT0.Add(time.Duration(i) * 600 * time.Millisecond).Before(end.Add(-10*time.Minute - time.Second)) {
				t.Errorf("window of %s (failure %d) kept after its findtime passed", k, i)
			}
		}
	}
	t.Logf("one run: %d bans, %d history, %d tracks", len(one.bans), len(one.history), len(one.tracks))
	for _, pieces := range []int{3, 10} {
		got := run(pieces)
		for _, c := range []struct {
			name      string
			got, want []string
		}{{"bans", got.bans, one.bans}, {"history", got.history, one.history}, {"tracks", got.tracks, one.tracks}} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%d pieces: %s differ from one run: got %d, want %d\n got %.400v\nwant %.400v", pieces, c.name, len(c.got), len(c.want), c.got, c.want)
			}
		}
	}
}

// TestFloodThenSilence: the windows of a flood go with the run whose log
// time passes their end; while the log is silent they stay (its time
// stands still), and a run far ahead of the log's time (old logs, a log
// in another zone) keeps them: its later lines may still join them.
func TestFloodThenSilence(t *testing.T) {
	log := filepath.Join(t.TempDir(), "auth.log")
	var lines []string
	for i := 0; i < 300; i++ {
		lines = append(lines, floodLine(i, floodT0.Add(time.Duration(i)*time.Second), netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})))
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := floodConfig(t, log, "")
	db := openDB(t)
	windows := func(now time.Time) int { t.Helper(); return runCountTracks(t, db, cfg, now) }
	last := floodT0.Add(299 * time.Second)
	if n := windows(last); n != 300 {
		t.Fatalf("after the flood: %d windows, want 300", n)
	}
	if n := windows(last.Add(48 * time.Hour)); n != 300 {
		t.Errorf("a silent log two days later: %d windows, want the 300 kept", n)
	}
	// One more failure, 10m100s after the flood's first: the windows that
	// ended by then (failures at 0 to 100 s) go, the rest stay.
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, floodLine(300, floodT0.Add(10*time.Minute+100*time.Second), netip.MustParseAddr("192.0.2.1")))
	f.Close()
	if n := windows(last.Add(48 * time.Hour)); n != 300-101+1 {
		t.Errorf("after a line at +10m100s: %d windows, want %d (the first 101 gone, one new)", n, 300-101+1)
	}
}

// runCountTracks runs at now and returns how many tracks (open windows,
// offense records) the state keeps after.
func runCountTracks(t *testing.T, db *state.DB, cfg *config.Config, now time.Time) int {
	t.Helper()
	if _, err := Run(context.Background(), db, Options{Config: cfg, Now: now}); err != nil {
		t.Fatal(err)
	}
	n := 0
	db.View(func(tx *state.Tx) error {
		return tx.ForEachTrack(func(string, netip.Prefix, *analyze.Track) error { n++; return nil })
	})
	return n
}
