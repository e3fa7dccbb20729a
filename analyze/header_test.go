package analyze

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // zone tests must not depend on the machine's zoneinfo
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

const refTime = "2026-11-24T12:00:00Z"

// hdr is a Header in comparable form; a nil field reads "<nil>".
type hdr struct {
	time, host, prog, pid, msg string
	repeat                     int
}

func orNil(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

func hdrOf(h *Header) hdr {
	return hdr{h.Time.Format(time.RFC3339Nano), orNil(h.Host), orNil(h.Prog), orNil(h.PID), orNil(h.Msg), h.Repeat}
}

const (
	tsBSD   = "2026-06-21T16:47:48Z"
	failMsg = "Failed password for root from 192.0.2.1 port 22 ssh2"
)

var syslogTests = []struct {
	name, in string
	want     hdr
}{
	{"bsd", "Jun 21 16:47:48 host sshd[123]: " + failMsg,
		hdr{tsBSD, "host", "sshd", "123", failMsg, 1}},
	{"bsd without host", "Jun 21 16:47:48 sshd[123]: " + failMsg,
		hdr{tsBSD, "<nil>", "sshd", "123", failMsg, 1}},
	{"tag without pid", "Jun 21 16:47:48 host sshd: " + failMsg,
		hdr{tsBSD, "host", "sshd", "<nil>", failMsg, 1}},
	{"no host, no pid", "Jun 21 16:47:48 sshd: " + failMsg,
		hdr{tsBSD, "<nil>", "sshd", "<nil>", failMsg, 1}},
	{"pam tag", "Jun 21 16:47:48 host sshd(pam_unix)[19939]: authentication failure; rhost=192.0.2.1",
		hdr{tsBSD, "host", "sshd(pam_unix)", "19939", "authentication failure; rhost=192.0.2.1", 1}},
	{"dashed tag", "Jun 21 16:47:48 host sshd-session[9]: " + failMsg,
		hdr{tsBSD, "host", "sshd-session", "9", failMsg, 1}},
	{"empty message", "Jun 21 16:47:48 host sshd[1]: ",
		hdr{tsBSD, "host", "sshd", "1", "", 1}},
	{"message in brackets", "Jun 21 16:47:48 host kernel: [ 12.5] eth0: link up",
		hdr{tsBSD, "host", "kernel", "<nil>", "[ 12.5] eth0: link up", 1}},
	{"solaris", "Jun 21 16:47:48 host sshd[123]: [ID 800047 auth.info] " + failMsg,
		hdr{tsBSD, "host", "sshd", "123", failMsg, 1}},
	{"bsd with pri", "<38>Jun 21 16:47:48 host sshd[123]: " + failMsg,
		hdr{tsBSD, "host", "sshd", "123", failMsg, 1}},
	{"bsd with year", "Jun 21 16:47:48 2005 host sshd[123]: " + failMsg,
		hdr{"2005-06-21T16:47:48Z", "host", "sshd", "123", failMsg, 1}},
	{"iso year prefix", "2005 Jun 21 16:47:48 host sshd[123]: " + failMsg,
		hdr{"2005-06-21T16:47:48Z", "host", "sshd", "123", failMsg, 1}},
	{"rsyslog rfc3339", "2026-11-24T10:00:00.123456+01:00 host sshd[123]: " + failMsg,
		hdr{"2026-11-24T10:00:00.123456+01:00", "host", "sshd", "123", failMsg, 1}},
	{"journalctl short-iso", "2026-11-24T10:00:00+0100 host sshd[123]: " + failMsg,
		hdr{"2026-11-24T10:00:00+01:00", "host", "sshd", "123", failMsg, 1}},
	{"journalctl short-precise", "Nov 24 10:00:00.123456 host sshd[123]: " + failMsg,
		hdr{"2026-11-24T10:00:00.123456Z", "host", "sshd", "123", failMsg, 1}},
	{"rfc5424", "<38>1 2019-07-08T17:40:16.95-04:00 host sshd 57915 - - " + failMsg,
		hdr{"2019-07-08T17:40:16.95-04:00", "host", "sshd", "57915", failMsg, 1}},
	{"rfc5424 nil values", "<38>1 2019-07-08T17:40:16Z - - - - - " + failMsg,
		hdr{"2019-07-08T17:40:16Z", "<nil>", "<nil>", "<nil>", failMsg, 1}},
	{"rfc5424 no message", "<38>1 2019-07-08T17:40:16Z host sshd 1 - -",
		hdr{"2019-07-08T17:40:16Z", "host", "sshd", "1", "", 1}},
	{"rfc5424 structured data",
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App" eventID="1011"] An application event`,
		hdr{"2003-10-11T22:14:15.003Z", "mymachine.example.com", "evntslog", "<nil>", "An application event", 1}},
	{"rfc5424 bracket in quotes",
		`<38>1 2019-07-08T17:40:16Z host sshd 1 - [a@1 x="]" y="\"]["][b@1 z="]"] ` + failMsg,
		hdr{"2019-07-08T17:40:16Z", "host", "sshd", "1", failMsg, 1}},
	{"rfc5424 bom", "<38>1 2019-07-08T17:40:16Z host sshd 1 - - \xef\xbb\xbf" + failMsg,
		hdr{"2019-07-08T17:40:16Z", "host", "sshd", "1", failMsg, 1}},
	{"repeated", "Jun 21 16:47:48 host sshd[123]: message repeated 3 times: [ " + failMsg + "]",
		hdr{tsBSD, "host", "sshd", "123", failMsg, 3}},
	{"repeated without the space", "Jun 21 16:47:48 host sshd[123]: message repeated 3 times: [" + failMsg + "]",
		hdr{tsBSD, "host", "sshd", "123", failMsg, 3}},
	{"repeated empty", "Jun 21 16:47:48 host sshd[1]: message repeated 2 times: []",
		hdr{tsBSD, "host", "sshd", "1", "", 2}},
	{"repeated rfc5424", "<38>1 2019-07-08T17:40:16Z host sshd 1 - - message repeated 2 times: [ " + failMsg + "]",
		hdr{"2019-07-08T17:40:16Z", "host", "sshd", "1", failMsg, 2}},
	{"repeated forged count", "Jun 21 16:47:48 host sshd[123]: message repeated 99999999999999999999999 times: [ " + failMsg + "]",
		hdr{tsBSD, "host", "sshd", "123", failMsg, maxRepeat}},
	{"repeated just above the cap", fmt.Sprintf("Jun 21 16:47:48 host sshd[1]: message repeated %d times: [ x]", maxRepeat+1),
		hdr{tsBSD, "host", "sshd", "1", "x", maxRepeat}},
	{"repeated zero times", "Jun 21 16:47:48 host sshd[1]: message repeated 0 times: [ " + failMsg + "]",
		hdr{tsBSD, "host", "sshd", "1", "message repeated 0 times: [ " + failMsg + "]", 1}},
	{"repeated unclosed", "Jun 21 16:47:48 host sshd[1]: message repeated 3 times: [ " + failMsg,
		hdr{tsBSD, "host", "sshd", "1", "message repeated 3 times: [ " + failMsg, 1}},
	{"repeated without count", "Jun 21 16:47:48 host sshd[1]: message repeated times: [ " + failMsg + "]",
		hdr{tsBSD, "host", "sshd", "1", "message repeated times: [ " + failMsg + "]", 1}},
}

func TestSyslog(t *testing.T) {
	for _, tt := range syslogTests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), time.UTC)
			var h Header
			if !p.Syslog([]byte(tt.in), &h) || hdrOf(&h) != tt.want {
				t.Fatalf("Syslog(%q)\n got %+v\nwant %+v", tt.in, hdrOf(&h), tt.want)
			}
		})
	}
}

var syslogRejects = []string{
	"",
	"hello world",
	"Jun 21 16:47:48",
	"Jun 21 16:47:48 ",
	"Jun 21 16:47:48 host",
	"Jun 21 16:47:48 host sshd[1]:",
	"Jun 21 16:47:48 host sshd message without a tag",
	"Jun 21 16:47:48host sshd[1]: x",
	"Jun 21 16:47:48 host sshd[1]:x",
	"[Sun Dec 04 04:47:44 2005] [error] [client 192.0.2.1] user root not found",
	`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 401 0`,
	"<38 Jun 21 16:47:48 host sshd[1]: x",
	"<>Jun 21 16:47:48 host sshd[1]: x",
	"<1234>Jun 21 16:47:48 host sshd[1]: x",
	"<ab>Jun 21 16:47:48 host sshd[1]: x",
	"<3a>1 2019-07-08T17:40:16Z host sshd 1 - - x",
	"<38>1 - host sshd 1 - - x",
	"<38>1 2019-07-08T17:40:16Z host sshd",
	"<38>1 2019-07-08T17:40:16Z host sshd 1 -",
	"<38>1 2019-07-08T17:40:16Z host sshd 1 - x",
	`<38>1 2019-07-08T17:40:16Z host sshd 1 - [a@1 x="]`,
	`<38>1 2019-07-08T17:40:16Z host sshd 1 - [a@1 x="\"]`,
}

func TestSyslogRejects(t *testing.T) {
	for _, in := range syslogRejects {
		t.Run(in, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), time.UTC)
			var h Header
			if p.Syslog([]byte(in), &h) {
				t.Fatalf("Syslog(%q) = %+v, want false", in, hdrOf(&h))
			}
		})
	}
}

// benchSyslog are syslog lines of one hour, each second different.
var benchSyslog = []struct{ name, prefix, layout, rest string }{
	{"bsd", "", time.Stamp, " host sshd[123]: " + failMsg},
	{"rfc3339", "", "2006-01-02T15:04:05.000000-07:00", " host sshd[123]: " + failMsg},
	{"rfc5424", "<38>1 ", "2006-01-02T15:04:05.00-07:00", " host sshd 57915 - - " + failMsg},
	{"repeated", "", time.Stamp, " host sshd[123]: message repeated 3 times: [ " + failMsg + "]"},
}

func BenchmarkSyslog(b *testing.B) {
	for _, s := range benchSyslog {
		b.Run(s.name, func(b *testing.B) {
			p := NewTimeParser(mustTime(b, refTime), mustLoc(b, "Europe/Berlin"))
			lines := benchLines(b, s.prefix, s.layout, s.rest)
			var h Header
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !p.Syslog(lines[i], &h) {
					b.Fatalf("not parsed: %q", lines[i])
				}
				if i++; i == len(lines) {
					i = 0
				}
			}
		})
	}
}

func TestSyslogAllocs(t *testing.T) {
	for _, s := range benchSyslog {
		t.Run(s.name, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), mustLoc(t, "Europe/Berlin"))
			lines := benchLines(t, s.prefix, s.layout, s.rest)
			var h Header
			i := 0
			if n := testing.AllocsPerRun(100, func() { p.Syslog(lines[i%len(lines)], &h); i++ }); n != 0 {
				t.Fatalf("Syslog(%q) makes %v allocations, want 0", lines[0], n)
			}
		})
	}
}
