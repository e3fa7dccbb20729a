package report

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/mail/deliver"
)

var digestNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// digestHostile are user names an attacker can type at a login prompt,
// each trying to escape where the digest prints it.
var digestHostile = []string{
	"root\r\nBcc: victim@example.net",
	"~! touch /tmp/pwned",
	"<script>alert(1)</script>",
	"bad\xff\xfeutf8",
	"\x1b[31mred\x1b[0m",
	"rtl\u202eexe.txt",
	".",
}

// digestFixture returns the digests the golden files show.
func digestFixture(name string) *Digest {
	d := NewDigest("web1.example.com", digestNow)
	at := digestNow.Add(-50 * time.Minute)
	switch name {
	case "small":
		d.AddFailures(map[string]int{"sshd": 14, "dovecot": 3}, at)
		d.AddOffender("sshd", "192.0.2.7", 9, []string{"root", "admin"})
		d.AddOffender("sshd", "198.51.100.23", 5, []string{"oracle"})
		d.AddOffender("dovecot", "192.0.2.7", 3, []string{"info@example.com"})
		d.AddBan(DigestBan{Jail: "sshd", Addr: "192.0.2.7", Start: at.Add(-2 * time.Minute), Until: at.Add(8 * time.Minute),
			Offense: 1, Failures: 5, Users: []string{"root", "admin"}}, at)
		d.AddBan(DigestBan{Jail: "sshd", Addr: "2001:db8:1:2::/64", Start: at.Add(-time.Minute), Until: at.Add(2*time.Hour - time.Minute),
			Offense: 3, Failures: 5}, at)
		d.AddBan(DigestBan{Jail: "manual", Addr: "203.0.113.0/24", Start: at.Add(5 * time.Minute), Offense: 1, Manual: true}, at.Add(5*time.Minute))
		d.AddUnban("sshd", at.Add(10*time.Minute))
		d.AddFailures(map[string]int{"sshd": 2}, at.Add(20*time.Minute))
		d.AddOffender("sshd", "198.51.100.23", 2, []string{"test"})
		d.AddWarning("jail nginx: no log file matches [/var/log/nginx/error.log]", at.Add(20*time.Minute))
	case "large":
		// A week of mail server outage: more of everything than a mail
		// lists.
		d.Limits = DigestLimits{Bans: 5, Top: 3, Warnings: 2}
		for i := 0; i < 40; i++ {
			t := at.Add(time.Duration(i) * time.Minute)
			addr := fmt.Sprintf("192.0.2.%d", i)
			d.AddFailures(map[string]int{"sshd": 5 + i}, t)
			d.AddOffender("sshd", addr, 5+i, []string{fmt.Sprintf("user%d", i)})
			d.AddBan(DigestBan{Jail: "sshd", Addr: addr, Start: t, Until: t.Add(time.Hour), Offense: 1, Failures: 5,
				Users: []string{fmt.Sprintf("user%d", i)}}, t)
		}
		for i := 0; i < 7; i++ {
			d.AddWarning(fmt.Sprintf("jail sshd: /var/log/auth.%d: permission denied", i), at)
		}
	case "hostile":
		d.Host = "evil\r\nBcc: x@example.net"
		d.AddFailures(map[string]int{"sshd": len(digestHostile)}, at)
		for i, u := range digestHostile {
			addr := fmt.Sprintf("192.0.2.%d", i+1)
			d.AddOffender("sshd", addr, 1, []string{u})
			d.AddBan(DigestBan{Jail: "sshd", Addr: addr, Start: at, Until: at.Add(time.Hour), Offense: 1, Failures: 1, Users: []string{u}}, at)
		}
		d.AddWarning("jail sshd: /var/log/x\n~! rm -rf /\r\n<b>bold</b>", at)
	}
	return d
}

// TestDigestGolden compares the subject, text and HTML parts with the
// files in testdata/digest (go test ./report -run Digest -update
// rewrites them).
func TestDigestGolden(t *testing.T) {
	for _, name := range []string{"small", "large", "hostile"} {
		t.Run(name, func(t *testing.T) {
			d := digestFixture(name)
			var text, html bytes.Buffer
			text.WriteString("Subject: " + d.Subject() + "\n\n")
			if err := d.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := d.WriteHTML(&html); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "digest", name+".txt"), text.Bytes())
			golden(t, filepath.Join("testdata", "digest", name+".html"), html.Bytes())
		})
	}
}

// TestDigestSummarises: past the limits a digest lists the first bans,
// the busiest addresses and the first warnings, says how many more there
// are, and keeps every total exact.
func TestDigestSummarises(t *testing.T) {
	d := NewDigest("h", digestNow)
	const bans = 5000
	for i := 0; i < bans; i++ {
		jail := []string{"sshd", "postfix"}[i%2]
		addr := fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
		d.AddFailures(map[string]int{jail: 3}, digestNow)
		d.AddOffender(jail, addr, 3, nil)
		d.AddBan(DigestBan{Jail: jail, Addr: addr, Start: digestNow, Until: digestNow.Add(time.Hour), Offense: 1, Failures: 3}, digestNow)
	}
	for i := 0; i < 100; i++ {
		d.AddWarning(fmt.Sprintf("warning %d", i), digestNow)
	}
	var text, html bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	lim := DefaultDigestLimits
	for _, part := range []struct {
		name string
		body string
	}{{"text", text.String()}, {"html", html.String()}} {
		body := part.body
		// Each listed ban is one row holding its end time.
		if n := strings.Count(body, "2026-11-24 13:00:00"); n != lim.Bans {
			t.Errorf("%s: %d bans listed, want %d", part.name, n, lim.Bans)
		}
		for _, want := range []string{
			fmt.Sprintf("New bans (%d)", bans),
			fmt.Sprintf("and %d more bans, not listed", bans-lim.Bans),
			fmt.Sprintf("Busiest addresses (%d of %d, by failures)", lim.Top, bans),
			"Warnings (100)",
			fmt.Sprintf("and %d more warnings, not listed", 100-lim.Warnings),
			"warning 19", "15000", "7500", "2500",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: no %q", part.name, want)
			}
		}
		if strings.Contains(body, "warning 20") || strings.Contains(body, fmt.Sprintf("10.0.0.%d<", lim.Bans)) {
			t.Errorf("%s: lists past the limit", part.name)
		}
	}
	if s := d.Subject(); s != "logjail on h: 5000 new bans, 0 unbans, 15000 failures, 100 warnings" {
		t.Errorf("subject %q", s)
	}
	if text.Len() > 64<<10 || html.Len() > 128<<10 {
		t.Errorf("a summarised digest of %d bytes of text and %d of HTML: too big", text.Len(), html.Len())
	}
}

func TestDigestText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"root", "root"},
		{"a\r\nBcc: x", `a\r\nBcc: x`},
		{"\x1b[31m", `\x1b[31m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\\slash`},
		{"rtl\u202eexe", `rtl\u202eexe`},
		{"~! sh", "~! sh"}, // harmless in a body no mail program reads escapes from
		{"Jürgen", "Jürgen"},
		{strings.Repeat("x", 40), strings.Repeat("x", 32) + "..."},
		{strings.Repeat("\n", 30), strings.Repeat(`\n`, 16) + "..."},
	} {
		if got := digestText(c.in, digestUserWidth); got != c.want {
			t.Errorf("digestText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"web1", "web1"},
		{"evil\r\nBcc: x@example.net", "evilBcc: x@example.net"},
		{"\xff\x00", "unknown host"},
		{"", "unknown host"},
	} {
		if got := digestHeaderText(c.in); got != c.want {
			t.Errorf("digestHeaderText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestMailHeaders: the message a hostile digest makes parses with the
// headers logjail wrote and no other, and both parts escape the user
// names.
func TestMailHeaders(t *testing.T) {
	d := digestFixture("hostile")
	m, err := d.Mail("logjail <logjail@example.com>", []string{"ops@example.com", "Second <two@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := deliver.Bytes(m)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bcc", "Cc"} {
		if v, ok := msg.Header[h]; ok {
			t.Errorf("header %s: %q", h, v)
		}
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ops@example.com" || to[1].Address != "two@example.com" {
		t.Errorf("To %v %v", to, err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != d.Subject() || strings.ContainsAny(subj, "\r\n") {
		t.Errorf("Subject %q, %v; want %q", subj, err, d.Subject())
	}
	if msg.Header.Get("Auto-Submitted") != "auto-generated" || msg.Header.Get("Date") == "" || !strings.HasPrefix(msg.Header.Get("Message-Id"), "<logjail.") {
		t.Errorf("headers %v", msg.Header)
	}
	if !strings.Contains(msg.Header.Get("Date"), "24 Nov 2026 12:00:00") {
		t.Errorf("Date %q: want the digest's time", msg.Header.Get("Date"))
	}
	var html bytes.Buffer
	d.WriteHTML(&html)
	if strings.Contains(html.String(), "<script>") || strings.Contains(html.String(), "<b>") ||
		!strings.Contains(html.String(), "&lt;script&gt;alert(1)&lt;/script") {
		t.Error("HTML part does not escape the user names")
	}
	for _, bad := range []string{"\r\nBcc", "\x1b", "\xff", "\u202e"} {
		if strings.Contains(m.Text, bad) || strings.Contains(m.HTML, bad) {
			t.Errorf("a part holds %q", bad)
		}
	}
}
