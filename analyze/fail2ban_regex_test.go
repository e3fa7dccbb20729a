package analyze

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTranslatePython(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`a{,3}b`, `a{0,3}b`},
		{`end\Z`, `end\z`},
		{`[\Z]`, `[\Z]`},
		{`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`, `(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|:)`},
		{`(?P<user>\S+)`, `(?P<user>\S+)`},
		{`a(?#comment)b`, `ab`},
		{`(?i)x`, `(?i)x`},
		{`(?u)x`, `x`},
		{`\w+`, `[\p{L}\p{N}_]+`},
		{`[\w.]`, `[\p{L}\p{N}_.]`},
		{`x{2,5}`, `x{2,5}`},
	} {
		got, err := translatePython(c.in)
		if err != nil || got != c.want {
			t.Errorf("translatePython(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, construct string }{
		{`^(?!root)`, "negative lookahead"},
		{`x(?=y)`, "lookahead"},
		{`(?<=a)b`, "lookbehind"},
		{`(?<!a)b`, "negative lookbehind"},
		{`(a)\1`, `backreference \1`},
		{`(?P<u>a)(?P=u)`, "backreference (?P="},
		{`(?P<c>a)?(?(c)b|d)`, "conditional"},
		{`(?x) a b`, "verbose"},
		{`a{1,2000}`, "repeat count"},
	} {
		_, err := translatePython(c.in)
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(ue.Construct, c.construct) {
			t.Errorf("translatePython(%q): %v, want refusal naming %q", c.in, err, c.construct)
		}
	}
}

func TestFail2banSpecErrors(t *testing.T) {
	_, err := NewFail2banFilter(Fail2banSpec{Name: "x", FailRegex: []string{"ok <HOST>", "no address here", `^(?!a)<HOST>`}})
	msg := err.Error()
	for _, want := range []string{"filter x: failregex 2: names no address", "filter x: failregex 3: negative lookahead (?! at offset 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestFail2banSemantics(t *testing.T) {
	tp := NewTimeParser(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), time.UTC)
	f, err := NewFail2banFilter(Fail2banSpec{
		Name:      "t",
		PrefRegex: `^ host app\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
		FailRegex: []string{
			`^login failed for <F-USER>\S+</F-USER> from <HOST>`,
			`^bad key from <ADDR>`,
			`^token <F-ID>\S+</F-ID> rejected`,
			`^user <F-ALT_USER>\S+</F-ALT_USER> locked at <IP4>`,
		},
		IgnoreRegex: []string{`from 10\.`},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := f.New("")
	for _, c := range []struct {
		line, host, user string
		o                Outcome
	}{
		// The date is cut out first, leaving " host ...", which the
		// prefregex anchors on.
		{"Dec  6 10:00:00 host app[1]: login failed for bob from 192.0.2.1", "192.0.2.1", "bob", Matched},
		{"Dec  6 10:00:00 host app[1]: bad key from [2001:db8::1]", "2001:db8::1", "", Matched},
		{"Dec  6 10:00:00 host app[1]: bad key from ::ffff:192.0.2.5", "192.0.2.5", "", Matched},
		{"Dec  6 10:00:00 host app[1]: token abc123 rejected", "abc123", "", Matched},
		{"Dec  6 10:00:00 host app[1]: user eve locked at 192.0.2.9", "192.0.2.9", "eve", Matched},
		{"Dec  6 10:00:00 host app[1]: login failed for bob from 10.0.0.1", "", "", Ignored},
		{"Dec  6 10:00:00 host other[1]: login failed for bob from 192.0.2.1", "", "", Missed},
		// Unanchored search: the failregex need not start the content
		// unless it says ^.
		{"Dec  6 10:00:00 host app[1]: x login failed for bob from 192.0.2.1", "", "", Missed},
	} {
		fl, o := m.Match(nil, 1, []byte(c.line), tp)
		if o != c.o || o == Matched && (fl[0].HostString() != c.host || fl[0].User != c.user) {
			t.Errorf("%q: %v %+v, want %v %s %s", c.line, o, fl, c.o, c.host, c.user)
		}
	}
}

// TestFail2banMLFID: lines of one connection tied by <F-MLFID>; a
// no-fail line names the address, a later line without one fails it.
func TestFail2banMLFID(t *testing.T) {
	tp := NewTimeParser(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), time.UTC)
	f, err := NewFail2banFilter(Fail2banSpec{
		Name:      "t",
		PrefRegex: `^ h d\[<F-MLFID>\d+</F-MLFID>\]: <F-CONTENT>.+</F-CONTENT>$`,
		FailRegex: []string{
			`^<F-NOFAIL>connect from</F-NOFAIL> <HOST>$`,
			`^auth failed user=<F-USER>\S+</F-USER>$`,
			`^<F-MLFFORGET>closed</F-MLFFORGET>$`,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := f.New("")
	lines := []struct {
		line string
		o    Outcome
		host string
	}{
		{"Dec  6 10:00:00 h d[7]: connect from 192.0.2.3", Ignored, ""},
		{"Dec  6 10:00:01 h d[8]: auth failed user=x", Ignored, ""}, // no address known for 8
		{"Dec  6 10:00:02 h d[7]: auth failed user=root", Matched, "192.0.2.3"},
		{"Dec  6 10:00:03 h d[7]: closed", Matched, "192.0.2.3"},
		{"Dec  6 10:00:04 h d[7]: auth failed user=root", Ignored, ""}, // forgotten
	}
	for _, c := range lines {
		fl, o := m.Match(nil, 1, []byte(c.line), tp)
		if o != c.o || o == Matched && fl[0].HostString() != c.host {
			t.Errorf("%q: %v %+v, want %v %s", c.line, o, fl, c.o, c.host)
		}
	}
}

func TestDatePattern(t *testing.T) {
	tp := NewTimeParser(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), time.UTC)
	for _, c := range []struct {
		pattern, line string
		want          time.Time
		cut           string
	}{
		{`^%Y-%m-%d %H:%M:%S`, "2026-11-24 10:00:01 x", time.Date(2026, 11, 24, 10, 0, 1, 0, time.UTC), " x"},
		{`%d/%b/%Y:%H:%M:%S %z`, `1.2.3.4 - - [24/Nov/2026:10:00:01 +0100] "GET"`, time.Date(2026, 11, 24, 9, 0, 1, 0, time.UTC), `1.2.3.4 - - [] "GET"`},
		{`{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?`, "2026/11/24 10:00:01.5 x", time.Date(2026, 11, 24, 10, 0, 1, 5e8, time.UTC), " x"},
		{`^%b %d, %ExY %I:%M:%S %p`, "Nov 24, 2026 1:02:03 PM x", time.Date(2026, 11, 24, 13, 2, 3, 0, time.UTC), " x"},
		{`{^LN-BEG}Epoch`, "1764000001.250 x", time.Unix(1764000001, 25e7), " x"},
		{`{^LN-BEG}TAI64N`, "@4000000069241c4100000000 x", time.Unix(0x69241c41, 0), " x"},
		{`^<W>{DATE}`, "<W>2026-11-24 10:00:01.818 x", time.Date(2026, 11, 24, 10, 0, 1, 818e6, time.UTC), " x"}, // no group: the prefix is cut too, as by fail2ban
	} {
		p, err := parseDatePattern(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		got, s, e, ok := p.find([]byte(c.line), tp)
		if !ok || !got.Equal(c.want) || c.line[:s]+c.line[e:] != c.cut {
			t.Errorf("%s on %q: %v %v cut %q; want %v cut %q", c.pattern, c.line, got, ok, c.line[:s]+c.line[e:], c.want, c.cut)
		}
	}
	for _, bad := range []string{`%Q %H`, `{NOSUCH}`, `%H:%M %:`} {
		if _, err := parseDatePattern(bad); err == nil || !strings.Contains(err.Error(), "not understood") {
			t.Errorf("%s: %v, want a refusal saying what is not understood", bad, err)
		}
	}
}

// FuzzFail2ban feeds arbitrary lines to a filter using every feature of
// the fail2ban semantics (prefregex with content, mlfid, alt groups,
// ignoreregex, the default date detection): no panic, and a failure always
// names an address or an id.
func FuzzFail2ban(f *testing.F) {
	for _, s := range []string{
		"Dec  6 10:00:00 h d[7]: connect from 192.0.2.3",
		"Dec  6 10:00:02 h d[7]: auth failed user=root from [2001:db8::1]:22",
		"2026-12-06T10:00:00.5+01:00 h d[8]: closed",
		"[06/Dec/2026:10:00:00 +0000] h d[9]: token x rejected",
		"@4000000069241c4100000000 h d[1]: auth failed user= from ::ffff:1.2.3.4",
	} {
		f.Add(s)
	}
	flt, err := NewFail2banFilter(Fail2banSpec{
		Name:        "fuzz",
		PrefRegex:   `^\s*(?:\S+ )?d\[<F-MLFID>\d+</F-MLFID>\]: <F-CONTENT>.+</F-CONTENT>$`,
		FailRegex:   []string{`^<F-NOFAIL>connect from</F-NOFAIL> <HOST>$`, `^auth failed user=<F-ALT_USER>\S*</F-ALT_USER>(?: from <ADDR>(?::\d+)?)?$`, `^<F-MLFFORGET>closed</F-MLFFORGET>$`, `^token <F-ID>\S+</F-ID> rejected`},
		IgnoreRegex: []string{`user=ignored`},
	})
	if err != nil {
		f.Fatal(err)
	}
	tp := NewTimeParser(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), time.UTC)
	m := flt.New("")
	f.Fuzz(func(t *testing.T, line string) {
		fl, o := m.Match(nil, 1, []byte(line), tp)
		if o == Matched && (len(fl) != 1 || fl[0].HostString() == "") {
			t.Fatalf("%q: %v %+v", line, o, fl)
		}
	})
}

// TestFail2banSnapshot: a connection named in one run fails in the next.
func TestFail2banSnapshot(t *testing.T) {
	tp := NewTimeParser(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), time.UTC)
	f, err := NewFail2banFilter(Fail2banSpec{
		Name:      "t",
		PrefRegex: `^ h d\[<F-MLFID>\d+</F-MLFID>\]: <F-CONTENT>.+</F-CONTENT>$`,
		FailRegex: []string{`^<F-NOFAIL>connect from</F-NOFAIL> <HOST>$`, `^auth failed user=<F-USER>\S+</F-USER>$`},
	})
	if err != nil {
		t.Fatal(err)
	}
	m1 := f.New("")
	if _, o := m1.Match(nil, 1, []byte("Dec  6 10:00:00 h d[7]: connect from 192.0.2.3"), tp); o != Ignored {
		t.Fatalf("connect: %v", o)
	}
	data := m1.(Snapshotter).Snapshot()
	m2 := f.New("")
	if err := m2.(Snapshotter).Restore(data); err != nil {
		t.Fatal(err)
	}
	fl, o := m2.Match(nil, 1, []byte("Dec  6 10:00:30 h d[7]: auth failed user=root"), tp)
	if o != Matched || fl[0].HostString() != "192.0.2.3" || fl[0].User != "root" {
		t.Errorf("after restore: %v %+v", o, fl)
	}
	// Without the snapshot the address is unknown.
	if _, o := f.New("").Match(nil, 1, []byte("Dec  6 10:00:30 h d[7]: auth failed user=root"), tp); o == Matched {
		t.Errorf("a fresh matcher knew the connection")
	}
	if err := m2.(Snapshotter).Restore([]byte("{")); err == nil {
		t.Errorf("a broken snapshot restored")
	}
}

// TestCheckLikeCompile: a fail2ban filter is checked when it is made
// (each expression translated and parsed) and compiled at its first
// Matcher; the check refuses exactly what the compilation would, with the
// same message, and names the same groups.
func TestCheckLikeCompile(t *testing.T) {
	for _, src := range []string{
		`^Failed password for .* from <HOST>( port \d+)?$`,
		`^(?P<user>\S+) from <ADDR> <F-ID>\w+</F-ID>$`,
		`^user <F-USER>.+</F-USER> from <HOST>`,
		`^bad ( from <HOST>`,             // unbalanced
		`^x(?<=y) from <HOST>`,           // lookbehind: RE2 has none
		`^a{2,1001} from <HOST>`,         // repeat count too large
		`^\1 from (<HOST>)`,              // back reference
		`^(?P<host>a)(?P<host>b) <HOST>`, // duplicate name
	} {
		for _, multi := range []bool{false, true} {
			re, cerr := compileF2B(src, "", multi)
			names, kerr := checkF2B(src, "", multi)
			if fmt.Sprint(cerr) != fmt.Sprint(kerr) {
				t.Errorf("%s: compiled: %v; checked: %v", src, cerr, kerr)
				continue
			}
			if cerr == nil && !slices.Equal(re.SubexpNames(), names) {
				t.Errorf("%s: groups %q compiled, %q checked", src, re.SubexpNames(), names)
			}
		}
	}
	for _, pat := range []string{`^%Y-%m-%d %H:%M:%S`, `{^LN-BEG}`, ``, `^<W>{DATE}`, `{^LN-BEG}Epoch`, `TAI64N`,
		`%Q %H`, `{NOSUCH}`, `%H:%M (`, `%H(?<=x)`} {
		_, cerr := datePatternOf(pat, true)
		_, kerr := datePatternOf(pat, false)
		if fmt.Sprint(cerr) != fmt.Sprint(kerr) {
			t.Errorf("datepattern %q: compiled: %v; checked: %v", pat, cerr, kerr)
		}
	}
	// A filter made from a bad expression is refused when made; a good
	// one compiles at its first Matcher and matches.
	if _, err := NewFail2banFilter(Fail2banSpec{Name: "t", FailRegex: []string{`^x(?<=y) <HOST>`}}); err == nil {
		t.Error("a filter with a lookbehind was made")
	}
	f, err := NewFail2banFilter(Fail2banSpec{Name: "t", FailRegex: []string{`^\s*Failed for <HOST>$`}, DatePattern: `{^LN-BEG}`})
	if err != nil {
		t.Fatal(err)
	}
	tp := NewTimeParser(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), nil)
	got, _ := f.New("").Match(nil, 1, []byte("2026-11-24 10:00:01 Failed for 192.0.2.7"), tp)
	if len(got) != 1 || got[0].Addr.String() != "192.0.2.7" {
		t.Errorf("lazily compiled filter: %+v", got)
	}
}
