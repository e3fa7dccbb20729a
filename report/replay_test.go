package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/analyze"
	"logjail/enforce"
)

// fixtureReplay replays testdata/replay/fixture.log, a log made by hand
// whose outcome is worked out in TestReplayFixture.
func fixtureReplay(t *testing.T) *Replay {
	t.Helper()
	st := fixtureStats(t, 3, 10*time.Minute)
	return NewReplay(st, []analyze.ReplayJail{{Name: "sshd", Policy: fixturePolicy(3, 10*time.Minute)}}, time.UTC)
}

func at(hms string) time.Time {
	t, err := time.Parse(time.DateTime, "2026-03-01 "+hms)
	if err != nil {
		panic(err)
	}
	return t
}

// TestReplayFixture checks the report of the hand-made log against what
// the policy (maxretry 3, findtime 10m, bantime 1h doubling, 127.0.0.0/8
// ignored) must give:
//   - 203.0.113.5 fails at 9:00, 9:01, 9:02: banned 9:02-10:02; 9:03 falls
//     inside the ban; 10:05, 10:06, 10:07 ban it again, for 2 h.
//   - 198.51.100.20 fails twice, 15 minutes apart: no ban.
//   - 127.0.0.1 is ignored: its failure is not counted.
//   - 2001:db8::1 fails at 11:00:00, 11:00:05, 11:09:59: the window
//     (10:59:59, 11:09:59] holds all three: banned 11:09:59-12:09:59.
func TestReplayFixture(t *testing.T) {
	r := fixtureReplay(t)
	if r.Lines != 14 || r.Failures != 12 || len(r.IPs) != 3 || !r.From.Equal(at("09:00:00")) || !r.To.Equal(at("11:09:59")) {
		t.Fatalf("summary: %d lines %d failures %d addresses %s..%s", r.Lines, r.Failures, len(r.IPs), r.From, r.To)
	}
	wantBans := []ReplayBan{
		{Jail: "sshd", Prefix: netip.MustParsePrefix("203.0.113.5/32"), Start: at("09:02:00"), Until: at("10:02:00"), Offense: 1, Failures: 3},
		{Jail: "sshd", Prefix: netip.MustParsePrefix("203.0.113.5/32"), Start: at("10:07:00"), Until: at("12:07:00"), Offense: 2, Failures: 3},
		{Jail: "sshd", Prefix: netip.MustParsePrefix("2001:db8::1/128"), Start: at("11:09:59"), Until: at("12:09:59"), Offense: 1, Failures: 3},
	}
	if len(r.Bans) != len(wantBans) {
		t.Fatalf("bans: %+v", r.Bans)
	}
	for i, w := range wantBans {
		g := r.Bans[i]
		if g.Jail != w.Jail || g.Prefix != w.Prefix || !g.Start.Equal(w.Start) || !g.Until.Equal(w.Until) || g.Offense != w.Offense || g.Failures != w.Failures {
			t.Errorf("ban %d: got %+v, want %+v", i, g, w)
		}
	}
	top := r.IPs[0]
	if top.Addr.String() != "203.0.113.5" || top.Failures != 7 || strings.Join(top.Users, " ") != "root admin =cmd|calc!A0" {
		t.Errorf("top address: %+v", top)
	}
	if r.Step != time.Hour || len(r.Timeline) != 3 {
		t.Fatalf("timeline: step %s, %+v", r.Step, r.Timeline)
	}
	for i, w := range []Bucket{{at("09:00:00"), 6, 1}, {at("10:00:00"), 3, 1}, {at("11:00:00"), 3, 1}} {
		if g := r.Timeline[i]; !g.Start.Equal(w.Start) || g.Failures != w.Failures || g.Bans != w.Bans {
			t.Errorf("timeline %d: got %+v, want %+v", i, g, w)
		}
	}
	if u := r.Users[0]; u.Name != "root" || u.Failures != 6 || u.Addresses != 2 {
		t.Errorf("most tried user: %+v, want root 6 times by 2 addresses", u)
	}
	if j := r.Jails[0]; j.Failures != 12 || j.Addresses != 3 || j.Bans != 3 || j.MaxRetry != 3 || j.BanTime != time.Hour {
		t.Errorf("jail: %+v", j)
	}
}

// TestReplayGolden compares the table, JSON and CSV reports of the fixture
// with testdata/replay/fixture.* (rewrite them with -update).
func TestReplayGolden(t *testing.T) {
	r := fixtureReplay(t)
	for _, c := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"fixture.txt", func(b *bytes.Buffer) error { return WriteReplayTable(b, r) }},
		{"fixture.json", func(b *bytes.Buffer) error { return WriteReplayJSON(b, r) }},
		{"fixture.csv", func(b *bytes.Buffer) error { return WriteReplayCSV(b, r) }},
	} {
		var buf bytes.Buffer
		if err := c.write(&buf); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata/replay", c.file), buf.Bytes())
	}
}

// TestReplayJSONContract: the JSON document has the fields CONTRACT.md
// names, with RFC 3339 times and null for a permanent ban's end.
func TestReplayJSONContract(t *testing.T) {
	r := fixtureReplay(t)
	r.Bans[0].Until = time.Time{} // as a permanent ban
	var buf bytes.Buffer
	if err := WriteReplayJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		From, To        string
		Lines, Failures int
		IPs             []struct {
			IP, First, Last string
			Failures        int
			Jails, Users    []string
		} `json:"ips"`
		Bans []struct {
			Jail, IP, Start   string
			Until             *string
			Offense, Failures int
		}
		Timeline []struct {
			Start          string
			Failures, Bans int
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.From != "2026-03-01T09:00:00Z" || doc.To != "2026-03-01T11:09:59Z" || doc.Lines != 14 || doc.Failures != 12 {
		t.Errorf("summary: %+v", doc)
	}
	if ip := doc.IPs[0]; ip.IP != "203.0.113.5" || ip.Failures != 7 || ip.First != "2026-03-01T09:00:00Z" || ip.Last != "2026-03-01T10:07:00Z" ||
		strings.Join(ip.Jails, ",") != "sshd" || len(ip.Users) != 3 {
		t.Errorf("ips[0]: %+v", ip)
	}
	if b := doc.Bans[0]; b.Until != nil || b.Jail != "sshd" || b.IP != "203.0.113.5" || b.Start != "2026-03-01T09:02:00Z" || b.Offense != 1 || b.Failures != 3 {
		t.Errorf("bans[0]: %+v", b)
	}
	if b := doc.Bans[2]; b.IP != "2001:db8::1" || b.Until == nil || *b.Until != "2026-03-01T12:09:59Z" {
		t.Errorf("bans[2]: %+v", b)
	}
	if len(doc.Timeline) != 3 || doc.Timeline[0].Start != "2026-03-01T09:00:00Z" || doc.Timeline[0].Failures != 6 {
		t.Errorf("timeline: %+v", doc.Timeline)
	}
}

// TestReplayHostileText: user names come from attackers. A table shows
// their control characters escaped (no terminal escape sequence gets
// through); a CSV cell never starts a formula.
func TestReplayHostileText(t *testing.T) {
	r := fixtureReplay(t)
	evil := "\x1b[2J\x1b]0;owned\x07root\r\nx\xff"
	r.Users = append([]UserCount{{Name: evil, Failures: 99, Addresses: 1}}, r.Users...)
	r.IPs[0].Users = []string{evil, "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)"}
	var table bytes.Buffer
	if err := WriteReplayTable(&table, r); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\x1b", "\x07", "\r", "\xff"} {
		if strings.Contains(table.String(), bad) {
			t.Errorf("the table holds %q", bad)
		}
	}
	if !strings.Contains(table.String(), `\x1b[2J\x1b]0;owned\aroot\r\nx\xff`) {
		t.Errorf("the hostile name is not shown escaped:\n%s", table.String())
	}
	var out bytes.Buffer
	if err := WriteReplayCSV(&out, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][5] != "users" {
		t.Fatalf("header: %v", rows[0])
	}
	cell := rows[1][5]
	if strings.ContainsAny(cell[:1], "=+-@") || strings.Contains(cell, "\x1b") {
		t.Errorf("users cell %q starts a formula or holds an escape", cell)
	}
}

// TestReplayCSVNetworkBans: an address banned with its IPv6 network
// (ban_prefix6: 64) counts that ban in its CSV row, beside a ban of its
// own in another jail; the first_ban is the earlier of the two.
func TestReplayCSVNetworkBans(t *testing.T) {
	addr := netip.MustParseAddr("2001:db8:1:2::17")
	r := &Replay{
		IPs: []ReplayIP{{Addr: addr, Failures: 9, First: at("10:00:00"), Last: at("10:30:00"), Jails: []string{"a", "b"}},
			{Addr: netip.MustParseAddr("2001:db8:1:3::17"), Failures: 1, First: at("10:00:00"), Last: at("10:00:00"), Jails: []string{"a"}}},
		Bans: []ReplayBan{
			{Jail: "a", Prefix: netip.MustParsePrefix("2001:db8:1:2::/64"), Start: at("10:20:00"), Offense: 1},
			{Jail: "b", Prefix: netip.PrefixFrom(addr, 128), Start: at("10:10:00"), Offense: 1},
		},
	}
	var out bytes.Buffer
	if err := WriteReplayCSV(&out, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1][6:]; got[0] != "2" || got[1] != "2026-03-01T10:10:00Z" {
		t.Errorf("%s: bans, first_ban = %v, want 2 and 2026-03-01T10:10:00Z", rows[1][0], got)
	}
	if got := rows[2][6:]; got[0] != "0" || got[1] != "" {
		t.Errorf("%s, outside the banned /64: bans, first_ban = %v, want 0 and none", rows[2][0], got)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"root":           "root",
		"müller":         "müller",
		"a\tb":           `a\tb`,
		"\x00\x7f\u200b": `\x00\x7f\u200b`,
		"back\\slash\n":  `back\\slash\n`,
		"DOMAIN\\bob":    `DOMAIN\\bob`,
		"\xc3":           `\xc3`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReplayTableLimits: the table lists the top addresses and user names
// and the first bans, and says how many there are in all.
func TestReplayTableLimits(t *testing.T) {
	r := &Replay{Lines: 1, Failures: 1, Step: time.Hour, From: at("09:00:00"), To: at("10:00:00")}
	for i := range TableBans + 5 {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 250)})
		r.IPs = append(r.IPs, ReplayIP{Addr: a, Failures: 1, Jails: []string{"sshd"}})
		r.Bans = append(r.Bans, ReplayBan{Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Start: at("09:00:00"), Until: at("10:00:00"), Offense: 1, Failures: 1})
		r.Users = append(r.Users, UserCount{Name: fmt.Sprintf("u%d", i), Failures: 1, Addresses: 1})
	}
	var buf bytes.Buffer
	if err := WriteReplayTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		fmt.Sprintf("Top addresses (%d of %d)", TableTop, TableBans+5),
		fmt.Sprintf("Bans the policy would issue (the first %d of %d; --format json lists all)", TableBans, TableBans+5),
		fmt.Sprintf("Most tried user names (%d of %d)", TableTop, TableBans+5),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	if n := strings.Count(out, " sshd "); n != TableTop+TableBans {
		t.Errorf("%d rows name the jail, want %d addresses + %d bans", n, TableTop, TableBans)
	}
}

// TestReplayJSONEncoding: the hand-encoded lists are byte for byte what
// encoding/json makes of the same rows, whatever the text holds.
func TestReplayJSONEncoding(t *testing.T) {
	r := fixtureReplay(t)
	odd := []string{"plain", "a&b", "a>b", `quo"te`, `back\slash`, "<b>&amp;", "tab\tnl\n", "ünï", "bad\xff", "\u2028", ""}
	r.IPs[0].Users = odd
	r.IPs[1].Jails = []string{"a<b", "sshd"}
	r.Bans = append(r.Bans,
		ReplayBan{Jail: "j&\"k", Prefix: netip.MustParsePrefix("2001:db8::/64"), Start: at("09:00:00"), Offense: 3},
		ReplayBan{Jail: "x", Prefix: netip.MustParsePrefix("198.51.100.0/24"), Start: at("09:00:00").In(time.FixedZone("", 5*3600+1800)), Until: at("10:00:00"), Failures: 9, Offense: 1})
	var buf bytes.Buffer
	if err := WriteReplayJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ip := range r.IPs {
		users := ip.Users
		if users == nil {
			users = []string{}
		}
		b, _ := json.Marshal(ReplayIPJSON{IP: ip.Addr.String(), Failures: ip.Failures, First: Time(ip.First), Last: Time(ip.Last), Jails: ip.Jails, Users: users})
		want = append(want, string(b))
	}
	for _, ban := range r.Bans {
		b, _ := json.Marshal(BanJSON{Jail: ban.Jail, IP: enforce.Addr(ban.Prefix), Start: Time(ban.Start), Until: Until(ban.Until), Offense: ban.Offense, Failures: ban.Failures})
		want = append(want, string(b))
	}
	out := buf.String()
	for _, w := range want {
		if !strings.Contains(out, "\n    "+w+",\n") && !strings.Contains(out, "\n    "+w+"\n") {
			t.Errorf("the output lacks %s", w)
		}
	}
	if !json.Valid(buf.Bytes()) {
		t.Errorf("invalid JSON:\n%s", out)
	}
}

// TestReplayWhatIf: the fixture under maxretry 2, findtime 1h against the
// configured maxretry 3, findtime 10m. 198.51.100.20's two failures 15
// minutes apart now ban it; every address banned before is banned still.
func TestReplayWhatIf(t *testing.T) {
	configured := fixtureStats(t, 3, 10*time.Minute)
	whatIf := fixtureStats(t, 2, time.Hour)
	r := NewReplay(whatIf, nil, time.UTC)
	CompareWhatIf(r, configured.Bans, []string{"maxretry=2", "findtime=1h"})
	w := r.WhatIf
	if w.Bans != 3 || w.Banned != 2 || len(w.OnlyConfigured) != 0 ||
		len(w.OnlyWhatIf) != 1 || w.OnlyWhatIf[0] != (JailPrefix{"sshd", netip.MustParsePrefix("198.51.100.20/32")}) {
		t.Fatalf("what-if: %+v", w)
	}
	// 203.0.113.5 at 9:01 and (after its hour) 10:06, 198.51.100.20 at
	// 9:45, 2001:db8::1 at 11:00:05.
	if len(r.Bans) != 4 || r.banned() != 3 {
		t.Fatalf("what-if bans: %+v", r.Bans)
	}
	var table, js bytes.Buffer
	if err := WriteReplayTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteReplayJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"What if maxretry=2, findtime=1h: 4 bans of 3 addresses, where the configured policy issues 3 bans of 2.",
		"Banned only with maxretry=2, findtime=1h (1)",
		"Banned only with the configured policy: none.",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	if !strings.Contains(js.String(), `"whatif": {"set":["maxretry=2","findtime=1h"],"configured_bans":3,"configured_banned":2,"only_whatif":[{"jail":"sshd","ip":"198.51.100.20"}],"only_configured":[]}`) {
		t.Errorf("JSON whatif:\n%s", js.String())
	}
}

func fixtureStats(t *testing.T, maxretry int, findtime time.Duration) *analyze.ReplayStats {
	t.Helper()
	f, _ := analyze.Builtin("sshd")
	pol := fixturePolicy(maxretry, findtime)
	st, err := analyze.Replay(context.Background(), []string{"testdata/replay/fixture.log"}, analyze.ReplayOptions{
		Jails: []analyze.ReplayJail{{Name: "sshd", Filter: f, Mode: "normal", Policy: pol}},
		Ref:   time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fixturePolicy is the fixture's policy with the given maxretry and
// findtime: bantime 1h doubling up to 1d, 127.0.0.0/8 ignored.
func fixturePolicy(maxretry int, findtime time.Duration) *analyze.Policy {
	return &analyze.Policy{MaxRetry: maxretry, FindTime: findtime, BanTime: time.Hour, Factor: 2, MaxTime: 24 * time.Hour,
		History: 30 * 24 * time.Hour, Ignore: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
}
