package report

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// htmlGenerated is the fixtures' generation time.
var htmlGenerated = time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC)

// hostile are user names, paths and jail names an attacker could put in
// a log, each trying to break out of where it is printed.
var hostile = []string{
	`<script>window.__pwned=1</script>`,
	`"><img src=x onerror="window.__pwned=1">`,
	`</svg><script>window.__pwned=1</script><svg>`,
	`</title><script>window.__pwned=1</script>`,
	`' onmouseover='window.__pwned=1`,
	"bad\xff\xfeutf8",
	"esc\x1b[31mred\x1b[0m\r\nnew",
	"rtl\u202egnp.exe",
	"&amp; &lt;b&gt;",
}

// sampleReplay builds a replay of nIPs addresses (the first with the most
// failures), nBans bans, nUsers user names and nHours hourly buckets
// starting at 05:00, every third one empty.
func sampleReplay(nIPs, nBans, nUsers, nHours int) *Replay {
	from := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	r := &Replay{
		From: from.Add(3 * time.Minute), To: from.Add(time.Duration(nHours)*time.Hour - 7*time.Minute),
		Lines: 123456,
		Files: []ReplayFile{
			{Path: "/var/log/auth.log.2.gz", Compressed: true, Lines: 100000},
			{Path: "/var/log/auth.log", Lines: 23456},
		},
		Jails: []ReplayJail{
			{Name: "sshd", Failures: 900, Addresses: nIPs, Bans: nBans, MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: time.Hour},
			{Name: "postfix", Failures: 10, Addresses: 2, MaxRetry: 3, FindTime: 24 * time.Hour, Permanent: true},
		},
		Step: time.Hour,
	}
	for i := range nIPs {
		r.IPs = append(r.IPs, ReplayIP{
			Addr:     netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}),
			Failures: int64(1000 - 7*i),
			First:    from.Add(time.Duration(i) * time.Minute), Last: from.Add(time.Duration(i) * time.Hour),
			Jails: []string{"sshd"}, Users: []string{"root", fmt.Sprintf("user%d", i)},
		})
	}
	for i := range nBans {
		b := ReplayBan{Jail: "sshd", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), 32),
			Start: from.Add(time.Duration(i) * 10 * time.Minute), Offense: 1 + i%3, Failures: 5}
		if i%4 != 3 {
			b.Until = b.Start.Add(time.Hour)
		}
		r.Bans = append(r.Bans, b)
	}
	for i := range nUsers {
		r.Users = append(r.Users, UserCount{Name: fmt.Sprintf("name%02d", i), Failures: int64(500 - 10*i), Addresses: 1 + i})
	}
	for i := range nHours {
		b := Bucket{Start: from.Add(time.Duration(i) * time.Hour)}
		if i%3 != 2 {
			b.Failures, b.Bans = int64(10*i+1), int64(i%2)
		}
		r.Timeline = append(r.Timeline, b)
	}
	for _, ip := range r.IPs {
		r.Failures += ip.Failures
	}
	return r
}

func renderHTML(t *testing.T, r *Replay, opt HTMLOptions) ([]byte, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteReplayHTML(&buf, r, opt); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), doc
}

// findAll returns the elements under n for which match holds, in
// document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func tagged(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	found := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(found) != 1 {
		t.Fatalf("%d elements with id %q, want 1", len(found), id)
	}
	return found[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// bodyRows returns the cells' text of each row of table's body.
func bodyRows(table *html.Node) [][]string {
	var rows [][]string
	for _, tr := range findAll(table, tagged("tr")) {
		if tr.Parent.Data != "tbody" {
			continue
		}
		var cells []string
		for _, td := range findAll(tr, tagged("td")) {
			cells = append(cells, text(td))
		}
		rows = append(rows, cells)
	}
	return rows
}

func svgs(doc *html.Node) map[string]*html.Node {
	out := map[string]*html.Node{}
	for _, s := range findAll(doc, tagged("svg")) {
		key := attr(s, "class")
		if key == "bars" {
			key = attr(s.Parent.Parent, "id") // the section
		}
		out[key] = s
	}
	return out
}

func rects(svg *html.Node, class string) []*html.Node {
	return findAll(svg, func(n *html.Node) bool { return n.Data == "rect" && attr(n, "class") == class })
}

// more returns the text of the "and K more" note after a table, or "".
func more(t *testing.T, doc *html.Node, section string) string {
	t.Helper()
	ps := findAll(byID(t, doc, section), func(n *html.Node) bool { return attr(n, "class") == "more" })
	if len(ps) == 0 {
		return ""
	}
	return text(ps[0])
}

func TestReplayHTMLStructure(t *testing.T) {
	r := sampleReplay(12, 9, 7, 30)
	_, doc := renderHTML(t, r, HTMLOptions{Generated: htmlGenerated, Rows: 5, ChartRows: 4})

	charts := svgs(doc)
	if len(charts) != 3 {
		t.Fatalf("%d charts %v, want timeline, addresses and users", len(charts), charts)
	}
	var fails, bans int
	for _, b := range r.Timeline {
		if b.Failures > 0 {
			fails++
		}
		if b.Bans > 0 {
			bans++
		}
	}
	for _, c := range []struct {
		chart, class string
		want         int
	}{
		{"timeline", "fail", fails},
		{"timeline", "ban", bans},
		{"addresses", "fail", 4},
		{"users", "fail", 4},
	} {
		if got := len(rects(charts[c.chart], c.class)); got != c.want {
			t.Errorf("%s chart: %d %s bars, want %d", c.chart, got, c.class, c.want)
		}
	}
	for name, s := range charts {
		if !regexp.MustCompile(`^0 0 \d+ \d+$`).MatchString(attr(s, "viewBox")) {
			t.Errorf("%s chart: viewBox %q", name, attr(s, "viewBox"))
		}
		title := s.FirstChild
		for title != nil && title.Type != html.ElementNode {
			title = title.NextSibling
		}
		if title == nil || title.Data != "title" || text(title) == "" || attr(s, "aria-label") != text(title) {
			t.Errorf("%s chart: no <title> first, or aria-label %q differs", name, attr(s, "aria-label"))
		}
	}
	// The bars of the address chart are the first addresses, longest first.
	addrBars := rects(charts["addresses"], "fail")
	w0, _ := strconv.ParseFloat(attr(addrBars[0], "width"), 64)
	w3, _ := strconv.ParseFloat(attr(addrBars[3], "width"), 64)
	if w0 != 400 || !(w3 < w0) {
		t.Errorf("address bars %v then %v wide, want 400 then less", w0, w3)
	}
	if got := text(addrBars[0].Parent); !strings.Contains(got, "203.0.113.1") || !strings.Contains(got, "1,000") {
		t.Errorf("first address bar says %q", got)
	}

	for _, c := range []struct {
		table, section string
		rows           int
		more           string
	}{
		{"jails", "summary", 2, ""},
		{"files", "summary", 2, ""},
		{"ips", "addresses", 5, "and 7 more addresses"},
		{"ban-table", "bans", 5, "and 4 more bans"},
		{"user-table", "users", 5, "and 2 more user names"},
		{"timeline-table", "timeline", fails, ""},
	} {
		if got := len(bodyRows(byID(t, doc, c.table))); got != c.rows {
			t.Errorf("table %s: %d rows, want %d", c.table, got, c.rows)
		}
		if c.section != "summary" {
			if got := more(t, doc, c.section); got != c.more {
				t.Errorf("section %s says %q, want %q", c.section, got, c.more)
			}
		}
	}
	ip := bodyRows(byID(t, doc, "ips"))[1]
	if want := []string{"203.0.113.2", "993", "2026-11-24 05:01:00", "2026-11-24 06:00:00", "sshd", "root, user1"}; strings.Join(ip, "|") != strings.Join(want, "|") {
		t.Errorf("second address row %q, want %q", ip, want)
	}
	bans4 := bodyRows(byID(t, doc, "ban-table"))
	if want := []string{"sshd", "203.0.113.4", "2026-11-24 05:30:00", "permanent", "permanent", "1", "5"}; strings.Join(bans4[3], "|") != strings.Join(want, "|") {
		t.Errorf("fourth ban row %q, want %q", bans4[3], want)
	}
	if want := "1h"; bans4[0][4] != want {
		t.Errorf("first ban lasts %q, want %q", bans4[0][4], want)
	}
	jails := bodyRows(byID(t, doc, "jails"))
	if want := "sshd|900|12|9|5|10m|1h"; strings.Join(jails[0], "|") != want {
		t.Errorf("jail row %q, want %s", jails[0], want)
	}
	if jails[1][6] != "permanent" || jails[1][5] != "1d" {
		t.Errorf("postfix jail row %q, want findtime 1d, bantime permanent", jails[1])
	}
	stats := text(findAll(doc, func(n *html.Node) bool { return attr(n, "class") == "stats" })[0])
	for _, want := range []string{"Lines read123,456", "Distinct addresses12", "Bans9", "Span1d5h50m", "Files2"} {
		if !strings.Contains(stats, want) {
			t.Errorf("summary %q lacks %q", stats, want)
		}
	}
}

func TestReplayHTMLDefaultLimits(t *testing.T) {
	r := sampleReplay(53, 3, 2, 2)
	_, doc := renderHTML(t, r, HTMLOptions{})
	if got := len(bodyRows(byID(t, doc, "ips"))); got != 50 {
		t.Errorf("%d address rows, want 50", got)
	}
	if got := more(t, doc, "addresses"); got != "and 3 more addresses" {
		t.Errorf("addresses: %q", got)
	}
	if got := more(t, doc, "bans"); got != "" {
		t.Errorf("bans under the limit: %q", got)
	}
	if got := len(rects(svgs(doc)["addresses"], "fail")); got != 15 {
		t.Errorf("%d address bars, want 15", got)
	}
	if got := len(rects(svgs(doc)["users"], "fail")); got != 2 {
		t.Errorf("%d user bars, want 2", got)
	}
	if strings.Contains(text(doc), "Generated") {
		t.Error("no generation time given, yet the page tells one")
	}
}

func TestReplayHTMLEmpty(t *testing.T) {
	r := &Replay{Lines: 4321, Step: time.Hour,
		Files: []ReplayFile{{Path: "/var/log/auth.log", Lines: 4321}},
		Jails: []ReplayJail{{Name: "sshd", MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: 10 * time.Minute}}}
	_, doc := renderHTML(t, r, HTMLOptions{Generated: htmlGenerated})
	if got := text(byID(t, doc, "empty")); !strings.HasPrefix(got, "No failures found") || !strings.Contains(got, "4,321 lines") {
		t.Errorf("empty report says %q", got)
	}
	if n := len(findAll(doc, tagged("svg"))); n != 0 {
		t.Errorf("empty report draws %d charts", n)
	}
	for _, id := range []string{"timeline", "addresses", "bans", "users"} {
		if found := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id }); len(found) != 0 {
			t.Errorf("empty report has section %s", id)
		}
	}
	if got := len(bodyRows(byID(t, doc, "files"))); got != 1 {
		t.Errorf("%d file rows, want 1", got)
	}

	// Without failures the zone's offset is the one at generation time,
	// not at the zero time (where Berlin kept local mean time, +00:53).
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := renderHTML(t, r, HTMLOptions{Generated: time.Date(2026, 7, 1, 12, 0, 0, 0, berlin)})
	if !bytes.Contains(page, []byte("Times are Europe/Berlin (UTC&#43;02:00).")) {
		t.Errorf("the empty report in summer names Berlin's zone otherwise:\n%s", page)
	}
}

func TestReplayHTMLNoBansNoUsers(t *testing.T) {
	r := sampleReplay(3, 0, 0, 5)
	_, doc := renderHTML(t, r, HTMLOptions{})
	if got := len(svgs(doc)); got != 2 {
		t.Errorf("%d charts, want the timeline and the addresses", got)
	}
	for _, s := range []string{"bans", "users"} {
		if got := text(byID(t, doc, s)); !strings.Contains(got, "None") && !strings.Contains(got, "No user names") {
			t.Errorf("section %s says %q", s, got)
		}
	}
}

// TestReplayHTMLSelfContained: nothing on the page may make a browser
// fetch anything or run anything.
func TestReplayHTMLSelfContained(t *testing.T) {
	out, doc := renderHTML(t, sampleReplay(20, 20, 20, 20), HTMLOptions{Generated: htmlGenerated})
	for _, tag := range []string{"script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignObject", "base"} {
		if n := len(findAll(doc, tagged(tag))); n != 0 {
			t.Errorf("%d <%s> elements", n, tag)
		}
	}
	remote := regexp.MustCompile(`(?i)^\s*(https?:|//|data:|javascript:)`)
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			switch {
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s %s=%q>: an event handler", n.Data, a.Key, a.Val)
			case a.Key == "src" || a.Key == "href" || a.Key == "xlink:href" || a.Key == "action" || a.Key == "style":
				t.Errorf("<%s %s=%q>: the page needs none", n.Data, a.Key, a.Val)
			case remote.MatchString(a.Val):
				t.Errorf("<%s %s=%q>: a reference", n.Data, a.Key, a.Val)
			}
		}
	}
	for _, s := range findAll(doc, tagged("style")) {
		if css := text(s); strings.Contains(css, "url(") || strings.Contains(css, "@import") {
			t.Errorf("style fetches: %q", css)
		}
	}
	for _, s := range []string{"http://", "https://", "src=", "href="} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("page contains %q", s)
		}
	}
}

func hostileReplay() *Replay {
	r := sampleReplay(3, 2, 0, 4)
	r.Files = append(r.Files, ReplayFile{Path: "/tmp/" + strings.Join(hostile, "/")})
	r.Jails[1].Name = hostile[2]
	r.Bans[1].Jail = hostile[0]
	r.IPs[0].Users = hostile
	r.IPs[0].Jails = []string{hostile[1]}
	for i, h := range hostile {
		r.Users = append(r.Users, UserCount{Name: h, Failures: int64(100 - i), Addresses: 1})
	}
	return r
}

func TestReplayHTMLHostile(t *testing.T) {
	out, doc := renderHTML(t, hostileReplay(), HTMLOptions{Generated: htmlGenerated, Version: hostile[3]})
	if !utf8.Valid(out) {
		t.Error("page is not valid UTF-8")
	}
	for i, c := range string(out) {
		if c < 0x20 && c != '\n' || c == 0x7f || c >= 0x80 && c < 0xa0 || c == '\u202e' {
			t.Errorf("byte %d: control character %U on the page", i, c)
		}
	}
	if bytes.Contains(bytes.ToLower(out), []byte("<script")) || bytes.Contains(out, []byte("<img")) {
		t.Error("a hostile string reached the page as markup")
	}
	if n := len(findAll(doc, tagged("svg"))); n != 3 {
		t.Errorf("%d <svg> elements, want 3: a name closed or opened one", n)
	}
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "src" {
				t.Errorf("<%s %s=%q> came from a name", n.Data, a.Key, a.Val)
			}
		}
	}
	// Every name reads back as itself, made printable: escaped, not lost.
	users := bodyRows(byID(t, doc, "user-table"))
	if len(users) != len(hostile) {
		t.Fatalf("%d user rows, want %d", len(users), len(hostile))
	}
	for i, h := range hostile {
		if users[i][0] != htmlText(h, 100) {
			t.Errorf("user row %d reads %q, want %q", i, users[i][0], htmlText(h, 100))
		}
	}
	bars := findAll(svgs(doc)["users"], tagged("g"))
	for i, h := range hostile {
		if got := text(bars[i].FirstChild.NextSibling); !strings.HasPrefix(got, htmlText(h, 100)+":") {
			t.Errorf("user bar %d titled %q", i, got)
		}
	}
	if got := bodyRows(byID(t, doc, "files"))[2][0]; got != htmlText("/tmp/"+strings.Join(hostile, "/"), 300) {
		t.Errorf("file path reads %q", got)
	}
	if got := bodyRows(byID(t, doc, "ban-table"))[1][0]; got != hostile[0] {
		t.Errorf("ban jail reads %q", got)
	}
}

// TestReplayHTMLWhatIf: with --set the page compares the two policies'
// bans, each list cut like the page's other tables, the overrides escaped;
// without it there is no such section.
func TestReplayHTMLWhatIf(t *testing.T) {
	t.Run("fixture", func(t *testing.T) {
		// As TestReplayWhatIf: maxretry 2, findtime 1h also bans
		// 198.51.100.20; the configured policy bans nothing the other does not.
		r := NewReplay(fixtureStats(t, 2, time.Hour), nil, time.UTC)
		CompareWhatIf(r, fixtureStats(t, 3, 10*time.Minute).Bans, []string{"maxretry=2", "findtime=1h"})
		_, doc := renderHTML(t, r, HTMLOptions{Generated: htmlGenerated})
		counts := bodyRows(byID(t, doc, "whatif-counts"))
		if got, want := fmt.Sprint(counts), "[[maxretry=2, findtime=1h 4 3] [configured 3 2]]"; got != want {
			t.Errorf("counts %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(bodyRows(byID(t, doc, "whatif-only"))), "[[sshd 198.51.100.20]]"; got != want {
			t.Errorf("only with the overrides: %s, want %s", got, want)
		}
		section := text(byID(t, doc, "whatif"))
		for _, want := range []string{"Banned only with maxretry=2, findtime=1h (1)", "Banned only with the configured policy (0)\nNone."} {
			if !strings.Contains(section, want) {
				t.Errorf("section %q lacks %q", section, want)
			}
		}
		if n := len(findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "configured-only" })); n != 0 {
			t.Errorf("an empty list has %d tables", n)
		}
	})
	t.Run("limit and hostile overrides", func(t *testing.T) {
		r := sampleReplay(3, 2, 0, 4)
		w := &WhatIf{Set: []string{"ignoreip=<script>window.__pwned=1</script>", "mode=\x1b[31m"}, Bans: 40, Banned: 30}
		for i := range 7 {
			w.OnlyWhatIf = append(w.OnlyWhatIf, JailPrefix{"sshd", netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32)})
		}
		w.OnlyConfigured = []JailPrefix{{hostile[1], netip.MustParsePrefix("2001:db8:1:2::/64")}, {"sshd", netip.MustParsePrefix("192.0.2.9/32")}}
		r.WhatIf = w
		out, doc := renderHTML(t, r, HTMLOptions{Rows: 5})
		only := bodyRows(byID(t, doc, "whatif-only"))
		if len(only) != 5 || strings.Join(only[4], "|") != "sshd|198.51.100.4" {
			t.Errorf("only with the overrides: %q, want 5 rows ending at 198.51.100.4", only)
		}
		if got, want := fmt.Sprint(bodyRows(byID(t, doc, "configured-only"))), "[["+htmlText(hostile[1], 100)+" 2001:db8:1:2::/64] [sshd 192.0.2.9]]"; got != want {
			t.Errorf("only configured: %s, want %s", got, want)
		}
		var mores []string
		for _, m := range findAll(byID(t, doc, "whatif"), func(n *html.Node) bool { return attr(n, "class") == "more" }) {
			mores = append(mores, text(m))
		}
		if got, want := strings.Join(mores, "|"), "and 2 more addresses"; got != want {
			t.Errorf("more lines %q, want %q", got, want)
		}
		set := htmlList(w.Set)
		if want := `ignoreip=<script>window.__pwned=1</script>, mode=\x1b[31m`; set != want {
			t.Fatalf("overrides shown as %q, want %q", set, want)
		}
		if got := bodyRows(byID(t, doc, "whatif-counts"))[0]; strings.Join(got, "|") != set+"|2|2" {
			t.Errorf("counts row %q, want the overrides and 2, 2", got)
		}
		if !strings.Contains(text(byID(t, doc, "whatif")), "Banned only with "+set+" (7)") {
			t.Errorf("section reads %q", text(byID(t, doc, "whatif")))
		}
		if bytes.Contains(bytes.ToLower(out), []byte("<script")) || bytes.Contains(out, []byte("<img")) || bytes.ContainsRune(out, 0x1b) {
			t.Error("an override or jail name reached the page as markup or a control character")
		}
	})
	t.Run("no overrides", func(t *testing.T) {
		_, doc := renderHTML(t, sampleReplay(3, 2, 0, 4), HTMLOptions{})
		if n := len(findAll(doc, func(n *html.Node) bool { return strings.HasPrefix(attr(n, "id"), "whatif") })); n != 0 {
			t.Errorf("%d what-if elements without --set", n)
		}
	})
	t.Run("no failures", func(t *testing.T) {
		// ignoreip can leave the what-if nothing while the configured policy bans.
		r := &Replay{Lines: 10, Step: time.Hour, WhatIf: &WhatIf{Set: []string{"ignoreip=0.0.0.0/0"}, Bans: 1, Banned: 1,
			OnlyConfigured: []JailPrefix{{"sshd", netip.MustParsePrefix("192.0.2.9/32")}}}}
		_, doc := renderHTML(t, r, HTMLOptions{})
		if got := fmt.Sprint(bodyRows(byID(t, doc, "configured-only"))); got != "[[sshd 192.0.2.9]]" {
			t.Errorf("only configured: %s", got)
		}
	})
}

func TestHTMLText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"root", 100, "root"},
		{"bad\xffbyte", 100, `bad\xffbyte`},
		{"esc\x1b[0m\r\n", 100, `esc\x1b[0m\r\n`},
		{"rtl\u202eexe", 100, `rtl\u202eexe`},
		{"日本語のユーザー", 5, "日本語のユ…"},
		{"12345", 5, "12345"},
		{"123456", 5, "12345…"},
		// The cut counts the characters shown, escapes included, and never
		// splits an escape.
		{"\x1b\x1b\x1b\x1b", 10, `\x1b\x1b…`},
		{"ab\xff\xfecd", 7, `ab\xff…`},
		{`a\b`, 3, `a\\…`},
	} {
		if got := htmlText(c.in, c.max); got != c.want {
			t.Errorf("htmlText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestReplayHTMLGolden(t *testing.T) {
	r := sampleReplay(4, 3, 3, 6)
	r.Bans[2].Prefix = netip.MustParsePrefix("2001:db8:1:2::/64")
	r.IPs[3].Addr = netip.MustParseAddr("2001:db8:1:2::17")
	var buf bytes.Buffer
	if err := WriteReplayHTML(&buf, r, HTMLOptions{Generated: htmlGenerated, Version: "logjail test"}); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "html", "replay.golden.html"), buf.Bytes())
}

func TestTimelineLayout(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)
	hourly := func(n int) []Bucket {
		bs := make([]Bucket, n)
		for i := range bs {
			bs[i] = Bucket{Start: hour.Add(time.Duration(i) * time.Hour), Failures: int64(i%5 + 1), Bans: int64(i % 3)}
		}
		return bs
	}
	labels := func(c *timelineChart) []string {
		var out []string
		for _, x := range c.XTicks {
			out = append(out, x.Text)
		}
		return out
	}
	inPlot := func(t *testing.T, c *timelineChart) {
		t.Helper()
		for _, b := range append(c.Fails, c.Bans...) {
			if b.W <= 0 || b.H <= 0 || b.X < c.Left-1 || b.X+b.W > c.Right+1 {
				t.Fatalf("bar %+v outside the plot [%v, %v]", b, c.Left, c.Right)
			}
		}
		for i, x := range c.XTicks {
			if i > 0 && x.X <= c.XTicks[i-1].X {
				t.Fatalf("labels out of order: %+v", c.XTicks)
			}
		}
	}

	t.Run("one bucket", func(t *testing.T) {
		c := newTimeline([]Bucket{{Start: hour, Failures: 3, Bans: 1}}, time.Hour, time.UTC)
		inPlot(t, c)
		if len(c.Fails) != 1 || len(c.Bans) != 1 {
			t.Fatalf("%d failure and %d ban bars, want 1 and 1", len(c.Fails), len(c.Bans))
		}
		b := c.Fails[0]
		if b.W > 48 || b.X+b.W/2 != (c.Left+c.Right)/2 || b.Y != tlTop {
			t.Errorf("single bar %+v: want at most 48 wide, centred, as high as the axis (3)", b)
		}
		if got := labels(c); len(got) != 1 || got[0] != "Nov 24 05:00" {
			t.Errorf("labels %q", got)
		}
		if c.Bans[0].H != tlLaneBottom-tlLaneTop {
			t.Errorf("the only ban mark is %v high, want the lane's %d", c.Bans[0].H, tlLaneBottom-tlLaneTop)
		}
	})
	t.Run("2000 hours", func(t *testing.T) {
		c := newTimeline(hourly(2000), time.Hour, time.UTC)
		inPlot(t, c)
		if len(c.Fails) != 2000 || len(c.Bans) != 2000*2/3 {
			t.Errorf("%d failure and %d ban bars", len(c.Fails), len(c.Bans))
		}
		if n := len(c.XTicks); n < 3 || n > 6 {
			t.Errorf("%d date labels: %q", n, labels(c))
		}
		if got := labels(c)[0]; !strings.HasSuffix(got, " 00:00") {
			t.Errorf("labels days apart start at %q, want a midnight", got)
		}
	})
	t.Run("two days", func(t *testing.T) {
		c := newTimeline(hourly(48), time.Hour, time.UTC)
		inPlot(t, c)
		want := []string{"Nov 24 12:00", "Nov 25 00:00", "Nov 25 12:00", "Nov 26 00:00"}
		if got := labels(c); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("labels %q, want %q", got, want)
		}
		for i, x := range c.XTicks {
			if x.Minor != (i%2 == 1) {
				t.Errorf("label %d minor %v: narrow screens show every other", i, x.Minor)
			}
		}
	})
	t.Run("days across a clock change", func(t *testing.T) {
		// Berlin goes to summer time on 2026-03-29: that day lasts 23 hours.
		var bs []Bucket
		for i := range 10 {
			bs = append(bs, Bucket{Start: time.Date(2026, 3, 25+i, 0, 0, 0, 0, berlin), Failures: 1})
		}
		c := newTimeline(bs, 24*time.Hour, berlin)
		inPlot(t, c)
		for i := 1; i < len(c.Fails); i++ {
			if d := c.Fails[i].X - c.Fails[i-1].X; d != c.Fails[1].X-c.Fails[0].X {
				t.Fatalf("bars %d and %d are %v apart, the first two %v", i-1, i, d, c.Fails[1].X-c.Fails[0].X)
			}
		}
		want := []string{"2026-03-25", "2026-03-27", "2026-03-29", "2026-03-31", "2026-04-02"}
		if got := labels(c); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("labels %q, want %q", got, want)
		}
	})
	t.Run("gap", func(t *testing.T) {
		bs := []Bucket{{Start: hour, Failures: 1}, {Start: hour.Add(10 * time.Hour), Failures: 1}}
		c := newTimeline(bs, time.Hour, time.UTC)
		slot := float64(c.Right-c.Left) / 11
		if d := float64(c.Fails[1].X - c.Fails[0].X); d < 10*slot-0.01 || d > 10*slot+0.01 {
			t.Errorf("buckets 10 hours apart drawn %v apart, want %v", d, 10*slot)
		}
	})
}

func TestBarChartNames(t *testing.T) {
	long := strings.Repeat("x", 200)
	c := newBarChart("t", []barItem{{Name: long, Value: 123456}, {Name: "root", Value: 1}})
	name := c.Rows[0].Name
	if !strings.HasSuffix(name, "…") || float64(utf8.RuneCountInString(name)+len("123,456"))*barChar > barWidth-barMargin {
		t.Errorf("a long name is shown as %q (%d runes)", name, utf8.RuneCountInString(name))
	}
	if c.Rows[1].Name != "root" || c.Rows[1].BarW != 2 || c.Rows[0].BarW != barWidth {
		t.Errorf("rows %+v", c.Rows)
	}
}
