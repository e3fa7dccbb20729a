package analyze

import (
	"fmt"
	"testing"
	"time"
)

var parseTests = []struct {
	name, in string
	want     string // RFC 3339, with the offset the result must carry
	n        int
}{
	{"bsd", "Jun 21 16:47:48 host sshd[1]: x", "2026-06-21T16:47:48Z", 15},
	{"bsd at end", "Jun 21 16:47:48", "2026-06-21T16:47:48Z", 15},
	{"bsd space-padded day", "Jun  1 06:07:08 host", "2026-06-01T06:07:08Z", 15},
	{"bsd one-digit day", "Jun 1 06:07:08 host", "2026-06-01T06:07:08Z", 14},
	{"bsd upper case", "JUN 21 16:47:48 host", "2026-06-21T16:47:48Z", 15},
	{"bsd one-digit hour", "Nov 24 9:00:00 host", "2026-11-24T09:00:00Z", 14},
	{"bsd weekday", "Sun Jun 21 16:47:48 host", "2026-06-21T16:47:48Z", 19},
	{"bsd weekday year", "Sun Jun 21 16:47:48 2005 host", "2005-06-21T16:47:48Z", 24},
	{"bsd year after time", "Jun 21 16:47:48 2005 host", "2005-06-21T16:47:48Z", 20},
	{"bsd year after time at end", "Jun 21 16:47:48 2005", "2005-06-21T16:47:48Z", 20},
	{"bsd five digits are no year", "Jun 21 16:47:48 20051 x", "2026-06-21T16:47:48Z", 15},
	{"bsd digits and colon are no year", "Jun 21 16:47:48 2005: x", "2026-06-21T16:47:48Z", 15},
	{"bsd year before time", "Jun 21 2005 16:47:48 host", "2005-06-21T16:47:48Z", 20},
	{"iso year prefix", "2005 Jun 21 16:47:48 host", "2005-06-21T16:47:48Z", 20},
	{"iso year prefix padded day", "2005 Jun  1 16:47:48 host", "2005-06-01T16:47:48Z", 20},
	{"short-precise", "Nov 24 10:00:00.123456 host", "2026-11-24T10:00:00.123456Z", 22},
	{"fraction with comma", "Nov 24 10:00:00,5 host", "2026-11-24T10:00:00.5Z", 17},
	{"dot without digits", "Nov 24 10:00:00. host", "2026-11-24T10:00:00Z", 15},
	{"rfc3339 rsyslog", "2026-11-24T10:00:00.123456+01:00 host", "2026-11-24T10:00:00.123456+01:00", 32},
	{"rfc3339 utc", "2026-11-24T10:00:00Z host", "2026-11-24T10:00:00Z", 20},
	{"rfc3339 lower z", "2026-11-24T10:00:00z", "2026-11-24T10:00:00Z", 20},
	{"rfc3339 negative", "2019-07-08T17:40:16.95-04:00 host", "2019-07-08T17:40:16.95-04:00", 28},
	{"rfc3339 half hour", "2026-11-24T10:00:00+05:30", "2026-11-24T10:00:00+05:30", 25},
	{"rfc3339 +14", "2026-11-24T10:00:00+14:00", "2026-11-24T10:00:00+14:00", 25},
	{"nanoseconds cut", "2026-11-24T10:00:00.1234567891234-05:00", "2026-11-24T10:00:00.123456789-05:00", 39},
	{"short-iso", "2026-11-24T10:00:00+0100 host", "2026-11-24T10:00:00+01:00", 24},
	{"hour-only offset", "2026-11-24T10:00:00-04 x", "2026-11-24T10:00:00-04:00", 22},
	{"offset out of range is no zone", "2026-11-24T10:00:00+15:00", "2026-11-24T10:00:00Z", 19},
	{"bad offset minutes are no zone", "2026-11-24T10:00:00+01:60", "2026-11-24T10:00:00Z", 19},
	{"iso no zone", "2026-11-24T10:00:00 x", "2026-11-24T10:00:00Z", 19},
	{"iso space", "2026-11-24 10:00:00,5 x", "2026-11-24T10:00:00.5Z", 21},
	{"iso one-digit hour", "2026-11-24 9:00:00 x", "2026-11-24T09:00:00Z", 18},
	{"iso one-digit hour at end", "2026-11-24 9:00:00", "2026-11-24T09:00:00Z", 18},
	{"leap second", "2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z", 20},
	{"nginx", "2026/11/24 10:00:00 [error] 1#1: x", "2026-11-24T10:00:00Z", 19},
	{"nginx takes no zone", "2026/11/24 10:00:00+01:00", "2026-11-24T10:00:00Z", 19},
	{"apache", "[Sun Dec 04 04:47:44 2005] [error]", "2005-12-04T04:47:44Z", 26},
	{"apache 2.4", "[Mon Nov 24 10:00:00.123456 2026] [auth_basic:error]", "2026-11-24T10:00:00.123456Z", 33},
	{"clf bracketed", "[10/Oct/2000:13:55:36 -0700] \"GET", "2000-10-10T13:55:36-07:00", 28},
	{"clf bare", "10/Oct/2000:13:55:36 -0700 x", "2000-10-10T13:55:36-07:00", 26},
	{"clf without zone", "10/Oct/2000:13:55:36 x", "2000-10-10T13:55:36Z", 20},
	{"clf one-digit hour at end", "10/Oct/2000:3:55:36", "2000-10-10T03:55:36Z", 19},
	{"tai64n", "@400000006b05602a075bcd15 dovecot-auth: x", "2026-11-24T10:00:00.123456789Z", 25},
	{"tai64n upper case", "@400000006B05602A075BCD15", "2026-11-24T10:00:00.123456789Z", 25},
	{"tai64n 1970", "@400000000000000a00000000 x", "1970-01-01T00:00:00Z", 25},
	{"epoch", "1795514400 host sshd[1]: x", "2026-11-24T10:00:00Z", 10},
	{"epoch fraction", "1795514400.123 42 192.0.2.1 TCP_DENIED/407", "2026-11-24T10:00:00.123Z", 14},
	{"epoch bracket", "1795514400] x", "2026-11-24T10:00:00Z", 10},
	{"epoch at end", "1795514400", "2026-11-24T10:00:00Z", 10},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), time.UTC)
			got, n, ok := p.Parse([]byte(tt.in))
			if !ok || n != tt.n || got.Format(time.RFC3339Nano) != tt.want {
				t.Fatalf("Parse(%q) = %v, %d, %v; want %s, %d, true", tt.in, got.Format(time.RFC3339Nano), n, ok, tt.want, tt.n)
			}
		})
	}
}

func TestParseCLF(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		n        int
	}{
		{"zone", "10/Oct/2000:13:55:36 -0700] x", "2000-10-10T13:55:36-07:00", 26},
		{"utc", "10/Oct/2000:13:55:36 +0000", "2000-10-10T13:55:36Z", 26},
		{"no zone", "10/Oct/2000:13:55:36", "2000-10-10T13:55:36Z", 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), time.UTC)
			got, n, ok := p.ParseCLF([]byte(tt.in))
			if !ok || n != tt.n || got.Format(time.RFC3339Nano) != tt.want {
				t.Fatalf("ParseCLF(%q) = %v, %d, %v; want %s, %d, true", tt.in, got.Format(time.RFC3339Nano), n, ok, tt.want, tt.n)
			}
		})
	}
}

var parseRejects = []string{
	"", "J", "Jun", "Jun ", "Jun 2", "Jun 21", "Jun 21 ", "Jun 21 16:47", "Jun 21 16:47:4",
	"Sun", "Sun ", "Sun Jun", "Sun Jun ", "Jun  ", "Jun  x", "Jun 2x 16:47:48",
	"Foo 21 16:47:48", "Jun 32 10:00:00", "Jun 00 10:00:00", "Feb 30 10:00:00",
	"Jun 21 24:00:00", "Jun 21 16:60:00", "Jun 21 16:47:61", "Jun 21 16-47-48",
	"2026-02-30T10:00:00Z", "2025-02-29T10:00:00Z", "2100-02-29T10:00:00Z",
	"2026-11-24T24:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
	"2026-11-24X10:00:00", "2026-11-24", "2026-11-24T", "2026/11-24 10:00:00", "2026-11/24 10:00:00",
	"2005 Foo 21 16:47:48", "2005 Jun 21", "2005 Jun 2x 16:47:48", "2005 Jun  ",
	"[Sun Dec 04 04:47:44] x", "[Sun Dec 04 04:47:44 2005", "[Sun Dec 04 04:47:44 2005 x",
	"[10/Oct/2000:13:55:36 -0700", "[10/Foo/2000:13:55:36 -0700]", "[", "[]", "[1",
	"10/Oct/2000 13:55:36 -0700", "1/Oct/2000:13:55:36 -0700", "10/Oct/2000:13:55",
	"host sshd: Jun 21 16:47:48", " Jun 21 16:47:48",
	// TAI64N: 24 hex digits exactly, after 1970, nanoseconds below 10^9.
	"@400000006b05602a075bcd1", "@400000006b05602a075bcd150", "@400000006b05602a075bcdxx",
	"@4000000000000009075bcd15", "@3fffffff6b05602a075bcd15", "@400000006b05602a3b9aca00", "@", "@x",
	// Unix seconds: ten digits, not part of a longer number or name.
	"17955144001", "1795514400x", "1795514400.5.6", "1795514400-x", "1795514400:00", "179551440 x",
	// Years no log has, and beyond the engine's Unix nanoseconds.
	"0001/01/01 0:00:00", "1969-12-31T23:59:59Z", "2201-01-01 00:00:00", "9999-12-31T23:59:59Z",
}

func TestParseRejects(t *testing.T) {
	for _, in := range parseRejects {
		t.Run(in, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), time.UTC)
			if got, n, ok := p.Parse([]byte(in)); ok {
				t.Fatalf("Parse(%q) = %v, %d, true; want false", in, got, n)
			}
		})
	}
}

// Dates without a year take the reference's year, one year less when the
// date would lie more than 24 hours after the reference (CONTRACT.md).
func TestParseYearless(t *testing.T) {
	tests := []struct {
		name, ref, in, want string
	}{
		{"new year's eve read on new year", "2027-01-01T00:00:00Z", "Dec 31 23:59:59", "2026-12-31T23:59:59Z"},
		{"new year read on new year's eve", "2026-12-31T12:00:00Z", "Jan  1 00:00:00", "2026-01-01T00:00:00Z"},
		{"the reference itself", "2026-01-01T00:00:00Z", "Jan  1 00:00:00", "2026-01-01T00:00:00Z"},
		{"a second before", "2026-06-01T00:00:00Z", "May 31 23:59:59", "2026-05-31T23:59:59Z"},
		{"exactly a day after", "2026-06-01T00:00:00Z", "Jun  2 00:00:00", "2026-06-02T00:00:00Z"},
		{"a day and a second after", "2026-06-01T00:00:00Z", "Jun  2 00:00:01", "2025-06-02T00:00:01Z"},
		{"a day and a nanosecond after", "2026-06-01T00:00:00Z", "Jun  2 00:00:00.000000001", "2025-06-02T00:00:00.000000001Z"},
		{"months before", "2026-11-24T12:00:00Z", "Mar  3 03:03:03", "2026-03-03T03:03:03Z"},
		{"a month after", "2026-11-24T12:00:00Z", "Dec 24 12:00:00", "2025-12-24T12:00:00Z"},
		{"feb 29 in a leap year", "2028-03-01T00:00:00Z", "Feb 29 10:00:00", "2028-02-29T10:00:00Z"},
		{"feb 29 read a year later", "2029-03-01T00:00:00Z", "Feb 29 10:00:00", "2028-02-29T10:00:00Z"},
		{"feb 29 read in a common year", "2027-03-01T00:00:00Z", "Feb 29 10:00:00", "2024-02-29T10:00:00Z"},
		{"feb 29 in a common year's february", "2025-02-28T12:00:00Z", "Feb 29 06:00:00", "2024-02-29T06:00:00Z"},
		{"feb 29 within a day", "2028-02-28T12:00:00Z", "Feb 29 06:00:00", "2028-02-29T06:00:00Z"},
		{"feb 29 two days ahead", "2028-02-27T00:00:00Z", "Feb 29 06:00:00", "2024-02-29T06:00:00Z"},
		{"feb 29 before 2100", "2101-01-01T00:00:00Z", "Feb 29 06:00:00", "2096-02-29T06:00:00Z"},
		{"mar 1 after a leap day", "2028-03-01T12:00:00Z", "Mar  1 06:00:00", "2028-03-01T06:00:00Z"},
		{"weekday without year", "2026-11-24T12:00:00Z", "Tue Nov 24 11:00:00", "2026-11-24T11:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, tt.ref), time.UTC)
			got, _, ok := p.Parse([]byte(tt.in))
			if !ok || got.Format(time.RFC3339Nano) != tt.want {
				t.Fatalf("Parse(%q) with Ref %s = %v, %v; want %s", tt.in, tt.ref, got.Format(time.RFC3339Nano), ok, tt.want)
			}
		})
	}
}

// The year comes from the reference instant seen in the log's zone, so the
// Location a Ref happens to carry (--now's offset, the file's mtime in Local)
// changes nothing, and a line logged shortly before Ref keeps its year.
func TestParseYearlessRefZone(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name, ref string
		loc       *time.Location
		in, want  string
	}{
		// 23:30 UTC on new year's eve is already 00:30 in Berlin.
		{"berlin after midnight", "2026-12-31T23:30:00Z", berlin, "Jan  1 00:10:00", "2027-01-01T00:10:00+01:00"},
		{"berlin before midnight", "2026-12-31T23:30:00Z", berlin, "Dec 31 23:50:00", "2026-12-31T23:50:00+01:00"},
		// 04:30 UTC on new year's day is still new year's eve in New York.
		{"utc log, ref in new york", "2027-01-01T04:30:00Z", time.UTC, "Jan  1 04:00:00", "2027-01-01T04:00:00Z"},
		{"new york log, ref in utc", "2027-01-01T04:30:00Z", ny, "Dec 31 23:00:00", "2026-12-31T23:00:00-05:00"},
	}
	for _, tt := range tests {
		for _, refLoc := range []*time.Location{time.UTC, berlin, ny, time.FixedZone("", 14*3600)} {
			t.Run(tt.name+"/"+refLoc.String(), func(t *testing.T) {
				p := NewTimeParser(mustTime(t, tt.ref).In(refLoc), tt.loc)
				got, _, ok := p.Parse([]byte(tt.in))
				if !ok || got.Format(time.RFC3339Nano) != tt.want {
					t.Fatalf("Parse(%q) with Ref %v = %v, %v; want %s", tt.in, p.Ref, got.Format(time.RFC3339Nano), ok, tt.want)
				}
			})
		}
	}
}

// Times without a zone mean what time.Date makes of them in Loc, on both
// sides of every switch to and from daylight saving time, whether the hour
// cache is warm or not.
func TestParseLocDST(t *testing.T) {
	days := map[string][]string{
		"America/New_York":    {"2026-03-08", "2026-11-01"},
		"Europe/Berlin":       {"2026-03-29", "2026-10-25"},
		"Europe/London":       {"2026-03-29", "2026-10-25"},
		"Australia/Lord_Howe": {"2026-04-05", "2026-10-04"}, // shifts by 30 minutes
	}
	formats := []struct{ name, layout string }{
		{"iso", "2006-01-02 15:04:05"},
		{"bsd", time.Stamp},
	}
	for name, ds := range days {
		loc := mustLoc(t, name)
		for _, d := range ds {
			day, err := time.Parse(time.DateOnly, d)
			if err != nil {
				t.Fatal(err)
			}
			// Wall-clock times from 22:00 the day before to 02:00 the day
			// after, as written in a log (the UTC value is the wall clock).
			var walls []time.Time
			for w := day.Add(-2 * time.Hour); w.Before(day.Add(26 * time.Hour)); w = w.Add(7*time.Minute + 13*time.Second) {
				walls = append(walls, w)
			}
			for _, f := range formats {
				for _, reverse := range []bool{false, true} {
					t.Run(name+"/"+d+"/"+f.name+map[bool]string{false: "", true: "/reverse"}[reverse], func(t *testing.T) {
						p := NewTimeParser(time.Date(2026, 12, 1, 0, 0, 0, 0, loc), loc)
						for i := range walls {
							w := walls[i]
							if reverse {
								w = walls[len(walls)-1-i]
							}
							in := w.Format(f.layout)
							want := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
							got, _, ok := p.Parse([]byte(in))
							if !ok || !got.Equal(want) || got.Location() != loc {
								t.Fatalf("Parse(%q) in %s = %v (%v), %v; want %v", in, loc, got, got.Location(), ok, want)
							}
						}
					})
				}
			}
		}
	}
}

// Changing Loc or Ref between lines takes effect at once.
func TestParseFieldsChange(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	p := NewTimeParser(mustTime(t, refTime), berlin)
	steps := []struct {
		set      func()
		in, want string
	}{
		{func() {}, "2026-11-24 10:00:00", "2026-11-24T10:00:00+01:00"},
		{func() { p.Loc = ny }, "2026-11-24 10:00:00", "2026-11-24T10:00:00-05:00"},
		{func() { p.Loc = nil }, "2026-11-24 10:00:00", time.Date(2026, 11, 24, 10, 0, 0, 0, time.Local).Format(time.RFC3339)},
		{func() { p.Loc = time.UTC }, "Nov 24 10:00:00", "2026-11-24T10:00:00Z"},
		{func() { p.Ref = mustTime(t, "2020-12-01T00:00:00Z") }, "Nov 24 10:00:00", "2020-11-24T10:00:00Z"},
	}
	for i, s := range steps {
		s.set()
		got, _, ok := p.Parse([]byte(s.in))
		if !ok || got.Format(time.RFC3339Nano) != s.want {
			t.Fatalf("step %d: Parse(%q) = %v, %v; want %s", i, s.in, got.Format(time.RFC3339Nano), ok, s.want)
		}
	}
}

// Many distinct offsets neither grow the zone cache without bound nor give
// wrong results once it is full.
func TestParseManyZones(t *testing.T) {
	p := NewTimeParser(mustTime(t, refTime), time.UTC)
	for h := -14; h <= 14; h++ {
		for _, m := range []int{0, 15, 30, 45} {
			off := h*3600 + m*60
			if h < 0 {
				off = h*3600 - m*60
			}
			want := time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("", off))
			in := want.Format("2006-01-02T15:04:05-07:00")
			got, _, ok := p.Parse([]byte(in))
			if !ok || got.Format(time.RFC3339) != want.Format(time.RFC3339) || !got.Equal(want) {
				t.Fatalf("Parse(%q) = %v, %v", in, got, ok)
			}
		}
	}
	if len(p.zones) > 64 {
		t.Fatalf("zone cache holds %d zones", len(p.zones))
	}
}

// benchStamps are lines of one hour in each format, each second different
// as in a real log, so that the benchmark measures parsing, not a repeat.
var benchStamps = []struct{ name, layout, rest string }{
	{"bsd", time.Stamp, " host sshd[123]: Failed password"},
	{"rfc3339", "2006-01-02T15:04:05.000000-07:00", " host sshd[123]: Failed password"},
	{"apache", "[Mon Jan 02 15:04:05.000000 2006]", " [auth_basic:error]"},
	{"clf", "[02/Jan/2006:15:04:05 -0700]", " \"GET / HTTP/1.1\""},
}

// benchLines returns lines of one hour: prefix, the time in layout, rest.
func benchLines(tb testing.TB, prefix, layout, rest string) [][]byte {
	loc := mustLoc(tb, "Europe/Berlin")
	var lines [][]byte
	for s := 0; s < 3600; s += 61 {
		tm := time.Date(2026, 11, 24, 10, 0, 0, 0, loc).Add(time.Duration(s)*time.Second + 123456*time.Microsecond)
		lines = append(lines, []byte(prefix+tm.Format(layout)+rest))
	}
	return lines
}

func BenchmarkTimeParse(b *testing.B) {
	for _, s := range benchStamps {
		b.Run(s.name, func(b *testing.B) {
			p := NewTimeParser(mustTime(b, refTime), mustLoc(b, "Europe/Berlin"))
			lines := benchLines(b, "", s.layout, s.rest)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, ok := p.Parse(lines[i]); !ok {
					b.Fatalf("not parsed: %q", lines[i])
				}
				if i++; i == len(lines) {
					i = 0
				}
			}
		})
	}
}

func TestParseAllocs(t *testing.T) {
	for _, s := range benchStamps {
		t.Run(s.name, func(t *testing.T) {
			p := NewTimeParser(mustTime(t, refTime), mustLoc(t, "Europe/Berlin"))
			lines := benchLines(t, "", s.layout, s.rest)
			i := 0
			if n := testing.AllocsPerRun(100, func() { p.Parse(lines[i%len(lines)]); i++ }); n != 0 {
				t.Fatalf("Parse(%q) makes %v allocations, want 0", lines[0], n)
			}
		})
	}
}

// A line of another second of the minute parsed last gives what a fresh
// parser gives, to the bit: in every format, near the year's turn relative
// to Ref, around switches to and from daylight saving time, with zones
// written and with fractions.
func TestParseSameMinute(t *testing.T) {
	lordHowe := mustLoc(t, "Australia/Lord_Howe")
	berlin := mustLoc(t, "Europe/Berlin")
	ref := mustTime(t, refTime)
	minutes := []string{
		"Nov 24 10:00:%s host sshd[1]: xxxxxxxx", "Nov 25 11:59:%s host sshd[1]: xxxxxxxx", "Nov 25 12:00:%s host sshd[1]: xxxxxxxx", "Dec 31 23:59:%s host sshd[1]: xxxxxxxx",
		"Oct 25 02:30:%s host sshd[1]: xxxxxxxx", "Mar 29 02:30:%s host sshd[1]: xxxxxxxx", "Apr  5 01:45:%s host sshd[1]: xxxxxxxx", "Sun Dec  4 4:47:%s 2005 xxxxxxxx",
		"2026-11-24T10:00:%s+01:00 xxxxxxxx", "2026-10-25 02:59:%s xxxxxxxx", "2026/11/24 10:00:%s.25 xxxxxxxx",
		"[Sun Dec 04 04:47:%s.5 2005] xxxxxxxx", "[10/Oct/2000:13:55:%s -0700] xxxxxxxx", "10/Oct/2000:13:55:%s +01:00 xxxxxxxx",
		"Jun 21 2005 16:47:%s host sshd[1]: xxxxxxxx", "2005 Jun 21 16:47:%s host sshd[1]: xxxxxxxx",
	}
	for _, loc := range []*time.Location{time.UTC, berlin, lordHowe} {
		for _, m := range minutes {
			warm := NewTimeParser(ref, loc)
			for _, s := range []string{"07", "08", "00", "59", "60", "30", "31", "6x", "05"} {
				in := []byte(fmt.Sprintf(m, s))
				got, n, ok := warm.Parse(in)
				want, wn, wok := NewTimeParser(ref, loc).Parse(in)
				if got != want || n != wn || ok != wok {
					t.Fatalf("in %s, Parse(%q) = %v, %d, %v; fresh parser: %v, %d, %v", loc, in, got, n, ok, want, wn, wok)
				}
			}
		}
	}
}
