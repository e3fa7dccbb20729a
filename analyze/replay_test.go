package analyze

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/klauspost/compress/gzip"
)

func sshdJail(t testing.TB, maxretry int) ReplayJail {
	t.Helper()
	f, _ := Builtin("sshd")
	return ReplayJail{Name: "sshd", Filter: f, Mode: "normal", Policy: &Policy{
		MaxRetry: maxretry, FindTime: 10 * time.Minute, BanTime: 10 * time.Minute, History: 30 * 24 * time.Hour}}
}

// loghubLines returns the loghub sample's complete lines.
func loghubLines(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile("../testdata/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r", ""), "\n")
	return lines[:len(lines)-1] // the last line is unterminated
}

// writeLog writes lines to path, gzip-compressed when gz is set, with a
// modification time of mtime.
func writeLog(t testing.TB, path string, lines []string, gz bool, mtime time.Time) {
	t.Helper()
	var buf bytes.Buffer
	text := strings.Join(lines, "\n") + "\n"
	if len(lines) == 0 {
		text = ""
	}
	if gz {
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(text))
		zw.Close()
	} else {
		buf.WriteString(text)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func replayOf(t testing.TB, files []string, o ReplayOptions) *ReplayStats {
	t.Helper()
	st, err := Replay(context.Background(), files, o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func banList(st *ReplayStats) string {
	var b strings.Builder
	for _, d := range st.Bans {
		until := "permanent"
		if !d.Permanent {
			until = d.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s %s %s %s #%d %d\n", d.Jail, d.Key, d.Start.UTC().Format(time.RFC3339), until, d.Offense, d.Failures)
	}
	return b.String()
}

// TestReplayRotatedSet: the loghub sample cut into a rotated set (two
// gzip generations, one plain, the live file; names that do not say which
// is compressed) and given in a scrambled order gives the timeline, the
// counts and the bans of the whole file read at once.
func TestReplayRotatedSet(t *testing.T) {
	lines := loghubLines(t)
	dir := t.TempDir()
	mtime := time.Date(2025, 12, 11, 0, 0, 0, 0, time.UTC)
	whole := filepath.Join(dir, "whole.log")
	writeLog(t, whole, lines, false, mtime)
	o := ReplayOptions{Jails: []ReplayJail{sshdJail(t, 5)}, Loc: time.UTC}
	want := replayOf(t, []string{whole}, o)
	if len(want.Bans) < 10 || want.Failures < 500 {
		t.Fatalf("the sample gives %d bans, %d failures: too few to compare", len(want.Bans), want.Failures)
	}

	q := len(lines) / 4
	parts := []struct {
		name string
		gz   bool
		from int
	}{{"auth.log.3.gz", true, 0}, {"auth.log.2.gz", true, q}, {"auth.log.1", false, 2 * q}, {"auth.log", false, 3 * q}}
	var files []string
	for i, p := range parts {
		end := len(lines)
		if i+1 < len(parts) {
			end = parts[i+1].from
		}
		path := filepath.Join(dir, p.name)
		// A compressed file named like a plain one: content decides.
		if p.name == "auth.log.2.gz" {
			path = filepath.Join(dir, "auth.log.2")
		}
		writeLog(t, path, lines[p.from:end], p.gz, mtime)
		files = append(files, path)
	}
	scrambled := []string{files[2], files[0], files[3], files[1]}
	got := replayOf(t, scrambled, o)
	if g, w := banList(got), banList(want); g != w {
		t.Fatalf("bans of the rotated set differ from the whole file:\n got:\n%s\nwant:\n%s", g, w)
	}
	if got.Lines != want.Lines || got.Failures != want.Failures || len(got.Addrs) != len(want.Addrs) || !got.First.Equal(want.First) || !got.Last.Equal(want.Last) {
		t.Fatalf("totals differ: got %d lines %d failures %d addrs %s..%s, want %d %d %d %s..%s",
			got.Lines, got.Failures, len(got.Addrs), got.First, got.Last, want.Lines, want.Failures, len(want.Addrs), want.First, want.Last)
	}
	compressed := 0
	for _, f := range got.Files {
		if f.Compressed {
			compressed++
		}
	}
	if compressed != 2 {
		t.Errorf("%d files recognised as gzip, want 2", compressed)
	}
}

// TestReplayInterleaved: two servers' logs whose times interleave are
// merged line by line: an attacker that fails on both, alternately, is
// banned at the failure that makes maxretry across the two, exactly as in
// one log holding both in time order.
func TestReplayInterleaved(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	line := func(sec int, host string) string {
		return fmt.Sprintf("Mar  1 10:00:%02d %s sshd[%d]: Failed password for root from 192.0.2.7 port 4%04d ssh2", sec, host, 100+sec, sec)
	}
	var a, b, both []string
	for s := 0; s < 10; s++ {
		l := line(s, "web")
		if s%2 == 1 {
			l = line(s, "db")
			b = append(b, l)
		} else {
			a = append(a, l)
		}
		both = append(both, l)
	}
	writeLog(t, filepath.Join(dir, "a"), a, false, mtime)
	writeLog(t, filepath.Join(dir, "b"), b, true, mtime)
	writeLog(t, filepath.Join(dir, "both"), both, false, mtime)
	o := ReplayOptions{Jails: []ReplayJail{sshdJail(t, 3)}, Loc: time.UTC}
	got := replayOf(t, []string{filepath.Join(dir, "b"), filepath.Join(dir, "a")}, o)
	want := replayOf(t, []string{filepath.Join(dir, "both")}, o)
	// Failures at :00 :01 :02 ban (3 in the window); :03-:09 fall inside
	// that 10-minute ban and do not count.
	wantBans := "sshd 192.0.2.7/32 2026-03-01T10:00:02Z 2026-03-01T10:10:02Z #1 3\n"
	if banList(got) != wantBans || banList(want) != wantBans {
		t.Fatalf("bans:\nmerged: %s\none log: %s\nwant:   %s", banList(got), banList(want), wantBans)
	}
	if got.Failures != 10 || got.Addrs[netip.MustParseAddr("192.0.2.7")].Failures != 10 {
		t.Fatalf("failures %d, want 10", got.Failures)
	}
}

// TestReplayNewYear: dates without a year take it from the file's
// modification time, across a new year inside one file: the failures of
// 31 December and 1 January fall in one window and ban.
func TestReplayNewYear(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		"Dec 31 23:58:30 h sshd[1]: Failed password for root from 198.51.100.9 port 1 ssh2",
		"Dec 31 23:59:40 h sshd[1]: Failed password for root from 198.51.100.9 port 1 ssh2",
		"Jan  1 00:00:10 h sshd[2]: Failed password for admin from 198.51.100.9 port 2 ssh2",
	}
	path := filepath.Join(dir, "auth.log")
	writeLog(t, path, lines, false, time.Date(2026, 1, 3, 8, 0, 0, 0, time.UTC))
	o := ReplayOptions{Jails: []ReplayJail{sshdJail(t, 3)}, Loc: time.UTC}
	st := replayOf(t, []string{path}, o)
	want := "sshd 198.51.100.9/32 2026-01-01T00:00:10Z 2026-01-01T00:10:10Z #1 3\n"
	if banList(st) != want {
		t.Fatalf("bans:\n%s\nwant:\n%s", banList(st), want)
	}
	if got := st.First.Format(time.RFC3339); got != "2025-12-31T23:58:30Z" {
		t.Errorf("first failure at %s, want 2025-12-31T23:58:30Z", got)
	}
	// A reference given (--now) overrides the modification time.
	o.Ref = time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)
	st = replayOf(t, []string{path}, o)
	if got := st.First.Format(time.RFC3339); got != "2030-12-31T23:58:30Z" {
		t.Errorf("with a reference of 2031-06-01, first failure at %s, want 2030-12-31T23:58:30Z", got)
	}
}

// TestReplayCounts checks the statistics on a small log worked out by hand:
// the window, ignoreip, user names, two jails, --from/--to.
func TestReplayCounts(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		"Mar  1 10:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
		"Mar  1 10:00:01 h sshd[1]: Failed password for invalid user admin from 192.0.2.1 port 1 ssh2",
		"Mar  1 10:00:02 h sshd[1]: Failed password for root from 192.0.2.2 port 1 ssh2",
		"Mar  1 10:00:03 h sshd[1]: Failed password for root from 10.1.1.1 port 1 ssh2",
		"Mar  1 10:00:04 h vsftpd[9]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=192.0.2.1  user=bob",
		"Mar  1 10:20:00 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
		"Mar  1 11:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
		"Mar  1 12:00:00 h sshd[1]: Server listening on 0.0.0.0 port 22.",
	}
	path := filepath.Join(dir, "mixed.log")
	writeLog(t, path, lines, false, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	ssh := sshdJail(t, 2)
	ssh.Policy.Ignore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	ftpFilter, _ := Builtin("vsftpd")
	ftp := ReplayJail{Name: "vsftpd", Filter: ftpFilter, Policy: &Policy{MaxRetry: 5, FindTime: time.Hour, BanTime: time.Hour}}
	o := ReplayOptions{Jails: []ReplayJail{ssh, ftp}, Loc: time.UTC}
	st := replayOf(t, []string{path}, o)

	if st.Lines != 8 || st.Failures != 6 {
		t.Errorf("lines %d failures %d, want 8 and 6 (the ignored address's failure dropped)", st.Lines, st.Failures)
	}
	// 192.0.2.1: two failures in one second ban at 10:00:01 (maxretry 2);
	// 10:20:00 comes after the ban ended and starts a new window, which
	// 11:00:00 (40 minutes later, outside findtime) does not complete.
	wantBans := "sshd 192.0.2.1/32 2026-03-01T10:00:01Z 2026-03-01T10:10:01Z #1 2\n"
	if banList(st) != wantBans {
		t.Errorf("bans:\n%s\nwant:\n%s", banList(st), wantBans)
	}
	a := st.Addrs[netip.MustParseAddr("192.0.2.1")]
	if a == nil || a.Failures != 5 || a.Jails != 3 || strings.Join(a.Users, ",") != "root,admin,bob" ||
		!a.First.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) || !a.Last.Equal(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("192.0.2.1: %+v", a)
	}
	if _, ok := st.Addrs[netip.MustParseAddr("10.1.1.1")]; ok {
		t.Errorf("the ignored address is listed")
	}
	if u := st.Users["root"]; u == nil || u.Failures != 4 || u.Addresses != 2 {
		t.Errorf("root: %+v, want 4 failures by 2 addresses", u)
	}
	if st.Jails[0].Failures != 5 || st.Jails[0].Addresses != 2 || st.Jails[0].Bans != 1 || st.Jails[1].Failures != 1 || st.Jails[1].Addresses != 1 {
		t.Errorf("jails: %+v", st.Jails)
	}
	h10 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Unix()
	if h := st.Hours[h10]; h == nil || h.Failures != 5 || h.Bans != 1 {
		t.Errorf("hour 10: %+v", st.Hours[h10])
	}

	// --from / --to keep [from, to).
	o.From = time.Date(2026, 3, 1, 10, 0, 2, 0, time.UTC)
	o.To = time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	st = replayOf(t, []string{path}, o)
	if st.Failures != 3 || st.Lines != 8 || len(st.Bans) != 0 {
		t.Errorf("from 10:00:02 to 11:00: %d failures %d lines %d bans, want 3, 8, 0", st.Failures, st.Lines, len(st.Bans))
	}
}

// TestReplayErrors: a missing file or a damaged gzip file is an error
// naming it.
func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.log")
	writeLog(t, good, loghubLines(t)[:10], false, time.Now())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking\n"), 5000))
	zw.Close()
	bad := filepath.Join(dir, "bad.gz")
	data := gz.Bytes()
	data[len(data)/2] ^= 0xff
	os.WriteFile(bad, data[:len(data)-4], 0o644)
	o := ReplayOptions{Jails: []ReplayJail{sshdJail(t, 5)}}
	for _, c := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.log"), "missing.log"},
		{bad, "bad.gz"},
	} {
		_, err := Replay(context.Background(), []string{good, c.file}, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("replay of %s: error %v, want one naming %s", c.file, err, c.want)
		}
	}
}

// TestReplayMemoryBounded: four times the lines with the same addresses
// leave the replay's memory about where it was: what it keeps grows with
// the addresses, not the lines.
func TestReplayMemoryBounded(t *testing.T) {
	lines := loghubLines(t)
	dir := t.TempDir()
	heapAfter := func(copies int) int64 {
		path := filepath.Join(dir, fmt.Sprintf("x%d.log", copies))
		var all []string
		for c := 0; c < copies; c++ {
			// Each copy one day later: the same attackers again.
			for _, l := range lines {
				ts, _ := time.Parse(time.Stamp, l[:15])
				all = append(all, ts.AddDate(0, 0, c).Format(time.Stamp)+l[15:])
			}
		}
		writeLog(t, path, all, true, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		all = nil
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		st := replayOf(t, []string{path}, ReplayOptions{Jails: []ReplayJail{sshdJail(t, 5)}, Loc: time.UTC})
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if st.Lines != int64(copies*len(lines)) {
			t.Fatalf("%d lines, want %d", st.Lines, copies*len(lines))
		}
		runtime.KeepAlive(st)
		// Bans are the report's own rows, one per ban: leave them out.
		return int64(after.HeapAlloc) - int64(before.HeapAlloc) - int64(cap(st.Bans))*int64(unsafe.Sizeof(ReplayBan{}))
	}
	one, four := heapAfter(5), heapAfter(20)
	t.Logf("kept after 5 copies: %d KiB, after 20: %d KiB", one>>10, four>>10)
	if float64(four) > 1.5*float64(one)+64<<10 {
		t.Errorf("memory grows with the lines: %d KiB for 5 copies, %d KiB for 20", one>>10, four>>10)
	}
}

// TestReplayCompare: a Compare policy judged in the same pass issues
// exactly the bans a replay of its own issues, in the same order, and the
// replay's own figures do not change with it; whichever of the two
// ignores addresses, bans longer or groups them otherwise.
func TestReplayCompare(t *testing.T) {
	lines := loghubLines(t)
	path := filepath.Join(t.TempDir(), "auth.log")
	writeLog(t, path, lines, false, time.Date(2025, 12, 11, 0, 0, 0, 0, time.UTC))
	strict := sshdJail(t, 3).Policy
	strict.FindTime = time.Hour
	// The address with the most failures in the sample, and its /16.
	strict.Ignore = []netip.Prefix{netip.MustParsePrefix("183.62.0.0/16")}
	loose := sshdJail(t, 5).Policy
	loose.BanTime, loose.Factor, loose.MaxTime = time.Hour, 2, 24*time.Hour
	loose.Ignore = []netip.Prefix{netip.MustParsePrefix("103.99.0.122/32")}

	for _, c := range []struct {
		name           string
		first, compare *Policy
	}{{"strict against loose", strict, loose}, {"loose against strict", loose, strict}} {
		t.Run(c.name, func(t *testing.T) {
			jail := func(p *Policy) ReplayJail { j := sshdJail(t, 0); j.Policy = p; return j }
			alone := replayOf(t, []string{path}, ReplayOptions{Jails: []ReplayJail{jail(c.first)}, Loc: time.UTC})
			other := replayOf(t, []string{path}, ReplayOptions{Jails: []ReplayJail{jail(c.compare)}, Loc: time.UTC})
			both := jail(c.first)
			both.Compare = c.compare
			got := replayOf(t, []string{path}, ReplayOptions{Jails: []ReplayJail{both}, Loc: time.UTC})
			if g, w := banList(&ReplayStats{Bans: got.CompareBans}), banList(other); g != w {
				t.Fatalf("compare bans differ from a replay of their own:\n got:\n%s\nwant:\n%s", g, w)
			}
			if g, w := banList(got), banList(alone); g != w {
				t.Fatalf("bans changed with a compare policy:\n got:\n%s\nwant:\n%s", g, w)
			}
			if got.Failures != alone.Failures || len(got.Addrs) != len(alone.Addrs) || len(alone.CompareBans) != 0 {
				t.Fatalf("figures changed with a compare policy: %d failures %d addresses, want %d %d",
					got.Failures, len(got.Addrs), alone.Failures, len(alone.Addrs))
			}
			if banList(alone) == banList(other) {
				t.Fatal("the two policies ban alike: the test compares nothing")
			}
		})
	}
}
