// Command quietstate prepares the quiet-run benchmark: a configuration with
// 20 log files that a first run has read to their end, and a state holding
// 10,000 active bans and 100,000 addresses with open failure windows.
//
//	go run ./bench/quietstate -dir /tmp/quiet -now 2026-11-24T12:00:00Z
//
// It prints the configuration's path. The bans and windows are written
// straight into the state file, as many runs would have left them.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"logjail/analyze"
	"logjail/state"
)

func main() {
	dir := flag.String("dir", "", "directory to create")
	nowS := flag.String("now", "2026-11-24T12:00:00Z", "the benchmark's --now")
	bans := flag.Int("bans", 10000, "active bans")
	tracks := flag.Int("tracks", 100000, "addresses with open windows")
	files := flag.Int("files", 20, "log files")
	flag.Parse()
	now, err := time.Parse(time.RFC3339, *nowS)
	if err != nil || *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: quietstate -dir DIR [-now RFC3339]")
		os.Exit(2)
	}
	if err := run(*dir, now, *bans, *tracks, *files); err != nil {
		fmt.Fprintln(os.Stderr, "quietstate:", err)
		os.Exit(1)
	}
}

func run(dir string, now time.Time, nBans, nTracks, nFiles int) error {
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	var paths []string
	for i := 0; i < nFiles; i++ {
		p := filepath.Join(logs, fmt.Sprintf("auth%02d.log", i))
		line := now.Add(-time.Hour).Format("Jan _2 15:04:05") + " h sshd[1]: Accepted publickey for root from 192.0.2.1 port 22 ssh2\n"
		if err := os.WriteFile(p, []byte(strings.Repeat(line, 100)), 0o644); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	cfg := fmt.Sprintf(`state: %s
firewall: {backend: none}
defaults: {findtime: 1h, bantime: 1d, maxretry: 5}
jails:
  sshd:
    logpath: [%s]
`, filepath.Join(dir, "state", "state.db"), strings.Join(paths, ", "))
	cfgPath := filepath.Join(dir, "logjail.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	db, err := state.Open(filepath.Join(dir, "state", "state.db"), state.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	// Write in chunks: one bbolt transaction per 10,000 entries.
	for lo := 0; lo < nTracks; lo += 10000 {
		err := db.Update(func(tx *state.Tx) error {
			var us []state.TrackUpdate
			for i := lo; i < lo+10000 && i < nTracks; i++ {
				tr := &analyze.Track{Failures: []int64{now.Add(-time.Duration(i%3000) * time.Second).UnixNano()}}
				// due at once, as PutTrack writes it: the first run judges each
				us = append(us, state.TrackUpdate{Jail: "sshd", Key: netip.PrefixFrom(addr(i), 32), Track: tr, Expires: state.ExpiryNow})
			}
			return tx.PutTracks(us)
		})
		if err != nil {
			return err
		}
	}
	err = db.Update(func(tx *state.Tx) error {
		for i := 0; i < nBans; i++ {
			b := &state.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(addr(1<<20+i), 32), Start: now.Add(-time.Hour), Until: now.Add(23 * time.Hour), Offense: 1, Failures: 5}
			if err := tx.PutBan(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Println(cfgPath)
	return nil
}
