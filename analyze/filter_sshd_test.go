package analyze

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var sshdModeNames = []string{"normal", "ddos", "extra", "aggressive"}

// sshdDeliberate lists where logjail's sshd filter deliberately counts a
// line that fail2ban 1.0.2 does not, by a text the line contains.
var sshdDeliberate = []struct{ text, why string }{
	{"message repeated", "rsyslog's 'message repeated N times' stands for N failures; fail2ban's prefix does not expect the wrapper and counts none"},
	{"sshd-session[", "OpenSSH 9.8 logs as sshd-session; fail2ban 1.0.2 only knows the sshd tag"},
	{"<38>1 ", "RFC 5424 lines are recognised from their form; fail2ban needs logtype = rfc5424 set by hand"},
	{"host.example.org", "a host name is reported as such (never resolved, never banned); fail2ban resolves it and finds nothing here"},
	{"sshd(pam_unix)[", "the old PAM tag was sshd's only record of a failed password, so it counts; fail2ban only uses PAM lines as helpers"},
}

func TestSSHDAgreesWithFail2ban(t *testing.T) {
	files := []string{"../testdata/loghub/OpenSSH_2k.log", "testdata/sshd/crafted.log"}
	for _, path := range files {
		text := fileLines(t, path)
		for _, mode := range sshdModeNames {
			t.Run(filepath.Base(path)+"/"+mode, func(t *testing.T) {
				want := fail2banFailures(t, path, "sshd[mode="+mode+"]")
				got := failureSet(runFilter(t, "sshd", mode, path))
				if len(want) == 0 {
					t.Fatal("fail2ban found nothing: the comparison would prove nothing")
				}
				for lh := range want {
					if !got[lh] {
						t.Errorf("fail2ban counts %v, logjail does not: %s", lh, text[lh.line-1])
					}
				}
				for lh := range got {
					if want[lh] {
						continue
					}
					if why := deliberate(text[lh.line-1]); why != "" {
						continue
					}
					t.Errorf("logjail counts %v, fail2ban does not: %s", lh, text[lh.line-1])
				}
			})
		}
	}
}

func deliberate(line string) string {
	for _, d := range sshdDeliberate {
		if strings.Contains(line, d.text) {
			return d.why
		}
	}
	return ""
}

// TestSSHDDeliberateDifferencesOccur keeps the table above honest: every
// entry must still be a line logjail counts in the crafted fixture.
func TestSSHDDeliberateDifferencesOccur(t *testing.T) {
	path := "testdata/sshd/crafted.log"
	text := fileLines(t, path)
	got := runFilter(t, "sshd", "normal", path)
	for _, d := range sshdDeliberate {
		found := false
		for _, f := range got {
			if strings.Contains(text[f.Line-1], d.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no failure on a line with %q: remove the entry or fix the filter", d.text)
		}
	}
}

func TestSSHDGolden(t *testing.T) {
	for _, mode := range sshdModeNames {
		t.Run(mode, func(t *testing.T) {
			checkGolden(t, "testdata/sshd/crafted."+mode+".expected", runFilter(t, "sshd", mode, "testdata/sshd/crafted.log"))
		})
	}
	t.Run("loghub", func(t *testing.T) {
		checkGolden(t, "testdata/sshd/OpenSSH_2k.normal.expected", runFilter(t, "sshd", "normal", "../testdata/loghub/OpenSSH_2k.log"))
	})
}

func TestSSHDFraming(t *testing.T) {
	type tcase struct {
		expect string
		line   string
	}
	var cases []tcase
	for _, l := range fileLines(t, "testdata/framing/sshd.txt") {
		if l == "" || l[0] == '#' {
			continue
		}
		e, line, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("framing corpus: no tab in %q", l)
		}
		cases = append(cases, tcase{e, line})
	}
	if len(cases) < 20 {
		t.Fatalf("framing corpus too small: %d cases", len(cases))
	}
	framed := netip.MustParseAddr("10.9.9.9")
	for _, mode := range sshdModeNames {
		t.Run(mode, func(t *testing.T) {
			f, _ := Builtin("sshd")
			m := f.New(mode)
			tp := NewTimeParser(testRef, time.UTC)
			for i, c := range cases {
				got, out := m.Match(nil, int64(i+1), []byte(c.line), tp)
				for _, g := range got {
					if g.Addr == framed || strings.Contains(g.Host, "10.9.9.9") {
						t.Errorf("framed 10.9.9.9: %s", c.line)
					}
				}
				if mode != "aggressive" {
					continue
				}
				switch {
				case c.expect == "~" && (len(got) > 0 || out != Ambiguous):
					t.Errorf("want the line skipped as ambiguous, got outcome %d, %d failures: %s", out, len(got), c.line)
				case c.expect == "~":
				case c.expect == "-" && len(got) > 0:
					t.Errorf("want no failure, got %s: %s", got[0].HostString(), c.line)
				case c.expect != "-" && len(got) == 0:
					t.Errorf("want a failure of %s, got none: %s", c.expect, c.line)
				case c.expect != "-" && got[0].HostString() != c.expect:
					t.Errorf("want a failure of %s, got %s: %s", c.expect, got[0].HostString(), c.line)
				}
			}
		})
	}
}

// TestSSHDContext checks the multi-line rules one sequence at a time.
func TestSSHDContext(t *testing.T) {

	at := func(hhmmss, msg string) string { return "Nov 24 " + hhmmss + " h sshd[7]: " + msg }
	tests := []struct {
		name  string
		lines []string
		want  []string // "line:host" per failure
	}{
		{"address from an earlier helper line", []string{
			at("10:00:00", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root"),
			at("10:00:01", "Disconnecting: Too many authentication failures for root [preauth]"),
		}, []string{"2:192.0.2.1"}},
		{"failure waits for a later line's address", []string{
			at("10:00:00", "Disconnecting: Too many authentication failures [preauth]"),
			at("10:00:01", "Received disconnect from 192.0.2.2 port 22:11: bye [preauth]"),
		}, []string{"2:192.0.2.2"}},
		{"a closed connection forgets the address", []string{
			at("10:00:00", "Received disconnect from 192.0.2.3 port 22:11: bye [preauth]"),
			at("10:00:01", "Disconnecting: Too many authentication failures [preauth]"),
		}, nil},
		{"context expires after ten minutes of silence", []string{
			at("10:00:00", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.4"),
			at("10:10:01", "Disconnecting: Too many authentication failures [preauth]"),
		}, nil},
		{"a second user name turns helper lines into failures", []string{
			at("10:00:00", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.5  user=alice"),
			at("10:00:01", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.5  user=bob"),
		}, []string{"2:192.0.2.5"}},
		{"a success clears a waiting failure", []string{
			at("10:00:00", "Disconnecting: Too many authentication failures [preauth]"),
			at("10:00:01", "Accepted password for root from 192.0.2.6 port 22 ssh2"),
		}, nil},
		{"other processes do not share context", []string{
			at("10:00:00", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7"),
			"Nov 24 10:00:01 h sshd[8]: Disconnecting: Too many authentication failures [preauth]",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := Builtin("sshd")
			m := f.New("normal")
			tp := NewTimeParser(testRef, time.UTC)
			var got []string
			for i, l := range tt.lines {
				fs, _ := m.Match(nil, int64(i+1), []byte(l), tp)
				for _, f := range fs {
					got = append(got, strings.Join([]string{itoa(f.Line), f.HostString()}, ":"))
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSSHDContextBounded: a flood of processes that never end keeps the
// context table at its cap.
func TestSSHDContextBounded(t *testing.T) {
	f, _ := Builtin("sshd")
	m := f.New("normal").(*sshdMatcher)
	tp := NewTimeParser(testRef, time.UTC)
	for pid := 0; pid < 3*sshProcMax; pid++ {
		l := "Nov 24 10:00:00 h sshd[" + itoa(int64(pid)) + "]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1"
		m.Match(nil, 1, []byte(l), tp)
	}
	if n := m.procs.Len(); n > sshProcMax {
		t.Fatalf("%d process contexts kept, cap %d", n, sshProcMax)
	}
}

func TestSSHDNoAllocs(t *testing.T) {
	f, _ := Builtin("sshd")
	m := f.New("normal")
	tp := NewTimeParser(testRef, time.UTC)
	lines := map[string]string{
		"other line":   "Dec 10 06:55:46 LabSZ sshd[24200]: input_userauth_request: invalid user webmaster [preauth]",
		"other prog":   "Dec 10 06:55:46 LabSZ CRON[24200]: pam_unix(cron:session): session opened for user root",
		"helper":       "Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186 ",
		"failure":      "Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
		"closing line": "Dec 10 06:55:48 LabSZ sshd[24200]: Connection closed by 173.234.31.186 [preauth]",
	}
	buf := make([]Failure, 0, 8)
	for name, l := range lines {
		b := []byte(l)
		m.Match(buf[:0], 1, b, tp) // warm the caches
		if n := testing.AllocsPerRun(200, func() { m.Match(buf[:0], 1, b, tp) }); n != 0 {
			t.Errorf("%s: %.1f allocations per line, want 0", name, n)
		}
	}
}

func FuzzFilterSSHD(f *testing.F) {
	for _, path := range []string{"testdata/sshd/crafted.log", "testdata/framing/sshd.txt"} {
		for _, l := range fileLines(f, path) {
			if _, line, ok := strings.Cut(l, "\t"); ok {
				l = line
			}
			f.Add(l)
		}
	}
	filter, _ := Builtin("sshd")
	f.Fuzz(func(t *testing.T, line string) {
		for _, mode := range sshdModeNames {
			m := filter.New(mode)
			tp := NewTimeParser(testRef, time.UTC)
			got, out := m.Match(nil, 1, []byte(line), tp)
			if (out == Matched) != (len(got) > 0) {
				t.Fatalf("outcome %d with %d failures", out, len(got))
			}
			for _, g := range got {
				checkReported(t, line, g)
			}
		}
	})
}

// checkReported asserts that a failure found in one line alone names an
// address or host name that the line contains.
func checkReported(t *testing.T, line string, g Failure) {
	t.Helper()
	if g.Addr.IsValid() {
		if g.Addr.Is4() && !strings.Contains(line, g.Addr.String()) && !strings.Contains(strings.ToLower(line), "::ffff:") {
			t.Fatalf("reported %s, not in the line %q", g.Addr, line)
		}
		return
	}
	if g.Host == "" || !strings.Contains(line, g.Host) {
		t.Fatalf("reported host %q, not in the line %q", g.Host, line)
	}
}

func fileLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return lines
}

func itoa(n int64) string {
	s := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		s = append([]byte{byte('0' + n%10)}, s...)
		n /= 10
	}
	return string(s)
}

// TestSSHDSnapshot: a stream cut anywhere and resumed from a snapshot finds
// the same failures as one pass (a run may end between two lines of one
// attempt).
func TestSSHDSnapshot(t *testing.T) {
	for _, path := range []string{"../testdata/loghub/OpenSSH_2k.log", "testdata/sshd/crafted.log"} {
		lines := fileLines(t, path)
		f, _ := Builtin("sshd")
		pass := func(cut int) []string {
			var got []string
			m := f.New("aggressive")
			tp := NewTimeParser(testRef, time.UTC)
			for i, l := range lines {
				if i == cut {
					data := m.(Snapshotter).Snapshot()
					m = f.New("aggressive")
					if err := m.(Snapshotter).Restore(data); err != nil {
						t.Fatal(err)
					}
				}
				fs, _ := m.Match(nil, int64(i+1), []byte(l), tp)
				for _, fl := range fs {
					got = append(got, itoa(fl.Line)+" "+fl.HostString()+" "+fl.User+" "+fl.Rule)
				}
			}
			return got
		}
		want := strings.Join(pass(-1), "\n")
		for cut := 1; cut < len(lines); cut += 1 + len(lines)/40 {
			if got := strings.Join(pass(cut), "\n"); got != want {
				t.Fatalf("%s cut at line %d: failures differ from one pass", path, cut+1)
			}
		}
	}
}

// TestSSHDSnapshotPort: the client port of a process context survives a
// snapshot, so the next run still settles a line with client text on both
// sides of the address, and still refuses a candidate with another port.
func TestSSHDSnapshotPort(t *testing.T) {
	f, _ := Builtin("sshd")
	tp := NewTimeParser(testRef, time.UTC)
	m := f.New("normal")
	m.Match(nil, 1, []byte("Nov 24 10:00:00 h sshd[9]: Connection from 192.0.2.9 port 5009 on 10.0.0.1 port 22"), tp)
	data := m.(Snapshotter).Snapshot()
	for _, c := range []struct {
		port string
		want Outcome
	}{{"5009", Matched}, {"5010", Ambiguous}} {
		m := f.New("normal")
		if err := m.(Snapshotter).Restore(data); err != nil {
			t.Fatal(err)
		}
		line := "Nov 24 10:00:01 h sshd[9]: Failed password for invalid user a from 192.0.2.9 port " + c.port + " ssh2: from 10.9.9.9 port 1 ssh2"
		got, out := m.Match(nil, 2, []byte(line), tp)
		if out != c.want || (c.want == Matched && (len(got) != 1 || got[0].HostString() != "192.0.2.9")) {
			t.Errorf("port %s after restore: outcome %d, %v; want %d", c.port, out, got, c.want)
		}
	}
}

// sshdShapes are sshd's messages with the client's text in them: {U} is a
// user name (cut at 100 bytes where sshd cuts it), {I} other client text
// (auth info, a disconnect reason, a version string, an algorithm offer,
// a second user name), {R} the address sshd writes and {P} its port.
// ambigOK says whether the line may be skipped as ambiguous although the
// process named its address before (false: the earlier line must settle
// it). The PAM line writes no port, and only a candidate with the port the
// process named confirms (a reused pid's stale context must not), so PAM
// lines with several candidates stay ambiguous.
var sshdShapes = []struct {
	text    string
	ambigOK bool
}{
	{"Failed password for invalid user {U} from {R} port {P} ssh2", false},
	{"Failed password for {U} from {R} port {P} ssh2: {I}", false},
	{"Failed password for {U} from {R} port {P} ssh1: ruser {I}", false},
	{"Failed publickey for invalid user {U} from {R} port {P} ssh2: RSA-CERT SHA256:abc ID {I} (serial 1) CA RSA SHA256:def", false},
	{"Failed keyboard-interactive/pam for invalid user {U} from {R} port {P} ssh2: {I}", false},
	{"Failed hostbased for {U} from {R} port {P} ssh2: RSA SHA256:x, client user \"{I}\", client host \"h\"", false},
	{"Accepted publickey for {U} from {R} port {P} ssh2: RSA-CERT SHA256:abc ID {I} (serial 1) CA RSA SHA256:def", false},
	{"Invalid user {U} from {R} port {P}", false},
	{"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser={U} rhost={R}  user={I}", true},
	{"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser={U} rhost={R}", true},
	{"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={R}  user={I}", true},
	{"Received disconnect from {R} port {P}:3: {I}: Auth fail [preauth]", false},
	{"Received disconnect from {R} port {P}:11: {I} [preauth]", false},
	{"Disconnecting invalid user {U} {R} port {P}: {CHANGE} [preauth]", false},
	{"Connection closed by authenticating user {U} {R} port {P} [preauth]", false},
	{"Disconnected from invalid user {U} {R} port {P} [preauth]", false},
	{"error: maximum authentication attempts exceeded for invalid user {U} from {R} port {P} ssh2 [preauth]", false},
	{"User {U} from {R} not allowed because not listed in AllowUsers", false},
	{"error: PAM: Authentication failure for illegal user {U} from {R}", false},
	{"Bad protocol version identification '{I}' from {R} port {P}", false},
	{"Unable to negotiate with {R} port {P}: no matching cipher found. Their offer: {I} [preauth]", false},
	{"Disconnecting: Too many authentication failures for {U} [preauth]", false},
}

// sshdFragments are what an attacker puts in the client text to make a
// parser take 10.9.9.9 for the client.
var sshdFragments = []string{
	"", " from 10.9.9.9 port 22 ssh2", " from 10.9.9.9", "from 10.9.9.9 port 1", " from 10.9.9.9 port 1 ssh2: x",
	" from 10.9.9.9 port 1 ssh1: ruser", " rhost=10.9.9.9", " rhost=10.9.9.9  user=x", "rhost=10.9.9.9",
	" client: 10.9.9.9", " 10.9.9.9 port 1", " 10.9.9.9 port 1: Change of username or service not allowed: (x,ssh",
	": Change of username or service not allowed: (", " ssh2: ", " port 1 ssh2", " [preauth]", " from ::ffff:10.9.9.9 port 1 ssh2",
	"' from 10.9.9.9 port 1", ": no matching cipher found. Their offer: ", " user=", " from 10.9.9.9 port 1 ssh2: RSA SHA256:x",
	" ID x (serial 1) CA RSA SHA256:y", ":3: x: Auth fail", " 10.9.9.9",
}

// sshdVis writes client text as sshd logs it (strnvis: a byte it will not
// print as \ooo, a backslash doubled).
func sshdVis(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\` + string(rune('0'+c>>6)) + string(rune('0'+c>>3&7)) + string(rune('0'+c&7)))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// FuzzSSHDClientText builds sshd lines of real shapes with client text
// that holds forged "from A port N ssh2", "rhost=A", "client: A" and the
// like, and fails when a failure names any client but the real one; when
// the process named its client first ("Connection from", logged at
// LogLevel VERBOSE), no shape may be left ambiguous.
func FuzzSSHDClientText(f *testing.F) {
	for i := range sshdShapes {
		f.Add(uint8(i), "test", "x", uint8(1), uint8(4), uint16(5000), false)
		f.Add(uint8(i), "a", "b", uint8(6), uint8(11), uint16(22), true)
		f.Add(uint8(i), "root", "", uint8(12), uint8(1), uint16(1), false)
	}
	f.Add(uint8(1), "test", "", uint8(0), uint8(1), uint16(58946), false)
	f.Add(uint8(13), "x", "root", uint8(11), uint8(0), uint16(4), true)
	f.Fuzz(func(t *testing.T, shape uint8, user, info string, f1, f2 uint8, port uint16, ctx bool) {
		sh := sshdShapes[int(shape)%len(sshdShapes)]
		real := netip.AddrFrom4([4]byte{192, 0, 2, byte(port%250 + 1)})
		u := user + sshdFragments[int(f1)%len(sshdFragments)]
		in := sshdFragments[int(f2)%len(sshdFragments)] + info
		change := cut("Change of username or service not allowed: ("+u+",ssh-connection) -> ("+in+",ssh-connection)", 100)
		msg := strings.NewReplacer("{U}", sshdVis(cut(u, 100)), "{I}", sshdVis(in), "{CHANGE}", sshdVis(change),
			"{R}", real.String(), "{P}", strconv.Itoa(int(port))).Replace(sh.text)
		for _, mode := range sshdModeNames {
			fl, _ := Builtin("sshd")
			m := fl.New(mode)
			tp := NewTimeParser(testRef, time.UTC)
			if ctx {
				m.Match(nil, 1, []byte("Nov 24 10:00:00 h sshd[42]: Connection from "+real.String()+" port "+strconv.Itoa(int(port))+" on 10.0.0.1 port 22"), tp)
			}
			line := "Nov 24 10:00:01 h sshd[42]: " + msg
			got, out := m.Match(nil, 2, []byte(line), tp)
			for _, g := range got {
				if g.Addr != real || g.Host != "" {
					t.Fatalf("mode %s: %q counts for %q, the client is %s", mode, line, g.HostString(), real)
				}
			}
			if ctx && out == Ambiguous && !sh.ambigOK {
				t.Fatalf("mode %s: %q skipped as ambiguous after the process named %s", mode, line, real)
			}
		}
	})
}
