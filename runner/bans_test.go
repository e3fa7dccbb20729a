package runner

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logjail/config"
	"logjail/enforce"
	"logjail/state"
)

var banNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func pfx(s string) netip.Prefix {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p
	}
	a := netip.MustParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

// banConfig is testConfig (sshd: bantime 20m doubling up to 2h) with a
// second jail whose ignoreip covers 203.0.113.0/24, and the digest on or
// off.
func banConfig(t *testing.T, digest bool) *config.Config {
	t.Helper()
	y := "firewall: {backend: none}\njails:\n  sshd:\n    logpath: [/nonexistent]\n    maxretry: 3\n    bantime: 20m\n" +
		"    bantime_increment: {enabled: true, factor: 2, maxtime: 2h}\n" +
		"  web:\n    filter: sshd\n    logpath: [/nonexistent]\n    ignoreip: [203.0.113.0/24]\n"
	if digest {
		y += "digest: {to: [ops@example.com], from: lj@example.com}\n"
	}
	cfg, err := config.Parse(strings.NewReader(y), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sshdFail is the syslog line of one failed sshd login of addr at at.
func sshdFail(at time.Time, addr string) string {
	return at.Format(time.Stamp) + " h sshd[1]: Failed password for root from " + addr + " port 22 ssh2\n"
}

func held(t *testing.T, db *state.DB, jail, p string) *state.Ban {
	t.Helper()
	var b *state.Ban
	err := db.View(func(tx *state.Tx) (err error) {
		b, err = tx.Ban(jail, pfx(p))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBan(t *testing.T, db *state.DB, o BanOptions) *BanResult {
	t.Helper()
	res, err := Ban(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBanNeverShortens: a permanent ban by hand, then a one-minute one,
// leaves the permanent ban and says so; a longer ban replaces a shorter.
func TestBanNeverShortens(t *testing.T) {
	cfg := banConfig(t, true)
	db := openDB(t)
	target := []netip.Prefix{pfx("198.51.100.0/24")}
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, For: "permanent", Targets: target})
	res := mustBan(t, db, BanOptions{Config: cfg, Now: banNow.Add(time.Minute), For: "1m", Targets: target})
	if len(res.Kept) != 1 || !res.Kept[0].Permanent() || res.Banned != 0 {
		t.Errorf("ban --for 1m over a permanent ban: kept %v, banned %v", res.Kept, res.Banned)
	}
	// The request that changed nothing left no event and no history.
	db.View(func(tx *state.Tx) error {
		n := 0
		tx.History(banNow.Add(-24*time.Hour), banNow.Add(time.Hour), func(*state.Ban) error { n++; return nil })
		if tx.EventCount() != 1 || n != 1 {
			t.Errorf("after the kept request: %d events, %d history entries; want 1 each", tx.EventCount(), n)
		}
		return nil
	})
	if b := held(t, db, ManualJail, "198.51.100.0/24"); b == nil || !b.Permanent() {
		t.Fatalf("after ban --for 1m the permanent ban is %v", b)
	}

	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, For: "1h", Targets: []netip.Prefix{pfx("192.0.2.7")}})
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, For: "10m", Targets: []netip.Prefix{pfx("192.0.2.7")}})
	if b := held(t, db, ManualJail, "192.0.2.7"); b == nil || !b.Until.Equal(banNow.Add(time.Hour)) {
		t.Errorf("1h then 10m: %v, want until +1h", b)
	}
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, For: "2h", Targets: []netip.Prefix{pfx("192.0.2.7")}})
	if b := held(t, db, ManualJail, "192.0.2.7"); b == nil || !b.Until.Equal(banNow.Add(2*time.Hour)) {
		t.Errorf("then 2h: %v, want until +2h", b)
	}
}

// TestBanCountsOffenses: bans by hand in a jail are offenses like the
// policy's: with bantime_increment the second lasts twice the first, and
// a ban the run decides afterwards is the third.
func TestBanCountsOffenses(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	cfg := testConfig(t, log) // sshd: maxretry 3, bantime 20m doubling
	db := openDB(t)
	a := []netip.Prefix{pfx("192.0.2.9")}
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, Jail: "sshd", Targets: a})
	if b := held(t, db, "sshd", "192.0.2.9"); b.Offense != 1 || !b.Until.Equal(banNow.Add(20*time.Minute)) {
		t.Fatalf("first ban by hand: offense %d until %s", b.Offense, b.Until)
	}
	later := banNow.Add(30 * time.Minute)
	mustBan(t, db, BanOptions{Config: cfg, Now: later, Jail: "sshd", Targets: a})
	if b := held(t, db, "sshd", "192.0.2.9"); b.Offense != 2 || !b.Until.Equal(later.Add(40*time.Minute)) {
		t.Fatalf("second ban by hand: offense %d until %s, want 2 and 40m", b.Offense, b.Until)
	}
	// Failures after it ended make the third ban: 80 minutes.
	t3 := later.Add(time.Hour)
	var lines []string
	for i := range 3 {
		lines = append(lines, sshdFail(t3.Add(time.Duration(i)*time.Second), "192.0.2.9"))
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), db, Options{Config: cfg, Now: t3.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bans) != 1 || res.Bans[0].Offense != 3 || res.Bans[0].Until.Sub(res.Bans[0].Start) != 80*time.Minute {
		t.Fatalf("the run's ban after two by hand: %+v, want offense 3 for 80m", res.Bans)
	}
}

// TestBanGuard: ban refuses, before writing anything, an address or
// network overlapping loopback, an address of the machine or any jail's
// ignoreip, inside or covering, with one line naming it and why.
func TestBanGuard(t *testing.T) {
	cfg := banConfig(t, true)
	var never []netip.Prefix
	for _, j := range cfg.Jails {
		never = append(never, j.IgnoreIP...)
	}
	g, err := enforce.NewGuard(enforce.Options{Never: never})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"203.0.113.7":    "overlaps never-ban range 203.0.113.0/24 (ignoreip of jail web)", // inside web's, banned in manual
		"203.0.112.0/23": "overlaps never-ban range 203.0.113.0/24 (ignoreip of jail web)", // covering it
		"127.0.0.2":      "overlaps loopback 127.0.0.0/8",
		"0.0.0.0/0":      "overlaps loopback 127.0.0.0/8",
	}
	// An address of this machine that is not loopback, when it has one.
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				ip := n.IP.String()
				cases[ip] = "covers own address " + ip
				break
			}
		}
	}
	db := openDB(t)
	for target, why := range cases {
		_, err := Ban(context.Background(), db, BanOptions{Config: cfg, Now: banNow, Guard: g,
			Targets: []netip.Prefix{pfx("192.0.2.77"), pfx(target)}})
		if !IsUsage(err) || !strings.Contains(err.Error(), "refused "+target+": it "+why) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ban %s: %v; want one usage line naming it: %s", target, err, why)
		}
	}
	// Nothing was written: no ban (not even the good target), no history,
	// no event.
	err = db.View(func(tx *state.Tx) error {
		bans, err := tx.Bans()
		if len(bans) != 0 || tx.EventCount() != 0 {
			t.Errorf("refused bans left %v and %d events", bans, tx.EventCount())
		}
		n := 0
		tx.History(banNow.Add(-24*time.Hour), banNow.Add(time.Hour), func(*state.Ban) error { n++; return nil })
		if n != 0 {
			t.Errorf("refused bans left %d history entries", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBanEventsOnlyWithDigest: ban and unban write digest events only
// when the digest is on, as run does.
func TestBanEventsOnlyWithDigest(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := banConfig(t, on)
		db := openDB(t)
		a := []netip.Prefix{pfx("192.0.2.8")}
		mustBan(t, db, BanOptions{Config: cfg, Now: banNow, Targets: a})
		if _, err := Unban(context.Background(), db, UnbanOptions{Config: cfg, Now: banNow, Targets: a}); err != nil {
			t.Fatal(err)
		}
		var n int
		db.View(func(tx *state.Tx) error { n = tx.EventCount(); return nil })
		if want := map[bool]int{false: 0, true: 2}[on]; n != want {
			t.Errorf("digest on %v: %d events, want %d", on, n, want)
		}
	}
}

// TestRunSkipsGuarded: the policy never decides a ban the guard refuses:
// failures of an address the guard refuses count for nothing.
func TestRunSkipsGuarded(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	cfg := testConfig(t, log)
	var lines []string
	for _, a := range []string{"198.51.100.3", "192.0.2.3"} {
		for i := range 3 {
			lines = append(lines, sshdFail(banNow.Add(time.Duration(i)*time.Second), a))
		}
	}
	os.WriteFile(log, []byte(strings.Join(lines, "")), 0o644)
	g, _ := enforce.NewGuard(enforce.Options{Never: []netip.Prefix{pfx("198.51.100.0/24")}})
	db := openDB(t)
	res, err := Run(context.Background(), db, Options{Config: cfg, Now: banNow.Add(time.Minute), Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bans) != 1 || res.Bans[0].Prefix != pfx("192.0.2.3") {
		t.Fatalf("bans %v, want only 192.0.2.3", res.Bans)
	}
	if st, _ := Status(db, cfg, banNow.Add(time.Minute)); len(st.Failures) != 0 {
		t.Errorf("the guarded address left failures: %+v", st.Failures)
	}
}

// TestGuardCacheCollision: two networks that share a slot of the
// guard's cache, one refused and one not, alternate: each gets its own
// answer every time.
func TestGuardCacheCollision(t *testing.T) {
	bad := pfx("198.51.100.7/32")
	g, _ := enforce.NewGuard(enforce.Options{Never: []netip.Prefix{bad}})
	r := &run{o: Options{Guard: g}}
	var good netip.Prefix
	for i := 1; !good.IsValid(); i++ {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		if p := netip.PrefixFrom(a, 128); netKeyOf(p).slot() == netKeyOf(bad).slot() {
			good = p
		}
	}
	for range 3 {
		if !r.guarded(bad) {
			t.Fatalf("%s not refused", bad)
		}
		if r.guarded(good) {
			t.Fatalf("%s refused (it shares %s's slot)", good, bad)
		}
	}
}

// TestSourceRecordLayout: a record of an earlier version (a file's state
// with the filter's context beside it) reads and writes back the same.
func TestSourceRecordLayout(t *testing.T) {
	old := `{"Offset":12,"Inode":34,"Context":"AQID"}`
	var rec sourceRecord
	if err := json.Unmarshal([]byte(old), &rec); err != nil {
		t.Fatal(err)
	}
	if string(rec.context) != "\x01\x02\x03" || string(rec.pos) != `{"Inode":34,"Offset":12}` {
		t.Errorf("context %q, position %s", rec.context, rec.pos)
	}
	back, err := json.Marshal(rec)
	if want := `{"Inode":34,"Offset":12,"Context":"AQID"}`; err != nil || string(back) != want {
		t.Errorf("written back as %s, %v; want %s", back, err, want)
	}
	if b, _ := json.Marshal(sourceRecord{pos: []byte("{}"), context: []byte{1}}); string(b) != `{"Context":"AQ=="}` {
		t.Errorf("empty position with a context: %s", b)
	}
}

// TestBanTrackExpires: the offense track a ban by hand writes is indexed
// by when it goes stale (its ban's end, and the history its offense
// counts in): a run before that keeps it, the first run after it
// deletes it.
func TestBanTrackExpires(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o644)
	cfg := testConfig(t, log)
	db := openDB(t)
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, Jail: "sshd", Targets: []netip.Prefix{pfx("192.0.2.9")}})
	tracks := func(at time.Time) int { t.Helper(); return runCountTracks(t, db, cfg, at) }
	if n := tracks(banNow.Add(time.Minute)); n != 1 {
		t.Fatalf("a run during the ban: %d tracks, want the ban's", n)
	}
	if n := tracks(banNow.Add(cfg.History - time.Minute)); n != 1 {
		t.Fatalf("a run within the history: %d tracks, want the ban's", n)
	}
	if n := tracks(banNow.Add(cfg.History + time.Minute)); n != 0 {
		t.Fatalf("a run past the history: %d tracks, want none", n)
	}
}

func TestUniq(t *testing.T) {
	mp := netip.MustParsePrefix
	in := []netip.Prefix{mp("192.0.2.1/32"), mp("192.0.2.0/24"), mp("192.0.2.1/32"), mp("2001:db8::1/128"),
		mp("::ffff:192.0.2.1/128"), mp("192.0.2.0/24"), mp("2001:db8::1/128"), mp("198.51.100.7/32")}
	want := []netip.Prefix{mp("192.0.2.1/32"), mp("192.0.2.0/24"), mp("2001:db8::1/128"), mp("::ffff:192.0.2.1/128"), mp("198.51.100.7/32")}
	if got := uniq(in); !slices.Equal(got, want) {
		t.Errorf("uniq = %v, want %v", got, want)
	}
	// Many, with every other one repeated later: the table wraps and
	// probes; the first order stays.
	var many, first []netip.Prefix
	for i := range 50000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		many, first = append(many, p), append(first, p)
	}
	for i := 0; i < 50000; i += 2 {
		many = append(many, many[i])
	}
	if got := uniq(many); !slices.Equal(got, first) {
		t.Errorf("uniq of %d with %d repeats: %d left, want the %d first", len(many), len(many)-len(first), len(got), len(first))
	}
	if got := uniq(first); &got[0] != &first[0] {
		t.Error("uniq copied a slice without repeats")
	}
	if got := uniq(nil); len(got) != 0 {
		t.Errorf("uniq(nil) = %v", got)
	}
}

// BenchmarkUniq: ban - of 100,000 addresses counted up, as bench/restore.sh
// gives them (a hash that left the low bytes out of the slot put them in
// runs of 256 and took a second).
func BenchmarkUniq(b *testing.B) {
	ps := make([]netip.Prefix, 100000)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}), 32)
	}
	for b.Loop() {
		uniq(ps)
	}
}
