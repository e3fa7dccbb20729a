package config

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"0", 0, ""},
		{"90s", 90 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"1d", 24 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1w1d1h1m1s", Week + Day + time.Hour + time.Minute + time.Second, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"-1d", -Day, ""},
		{"+10m", 10 * time.Minute, ""},
		{"15250w", 15250 * Week, ""},
		{"", 0, "empty"},
		{"5", 0, "missing unit"},
		{"1d5", 0, "missing unit"},
		{"d", 0, "expected a number"},
		{"1y", 0, `bad part "1y"`},
		{"1 d", 0, `bad part "1 d"`},
		{"forever", 0, "expected a number"},
		{"-", 0, "invalid duration"},
		{"16000w", 0, "too long"},
		{"15000w15000w", 0, "too long"},
		{"9999999999999h", 0, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want an error naming the value and containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{90 * time.Second, "1m30s"},
		{Week, "1w"},
		{2 * Week, "2w"},
		{9 * Day, "9d"},
		{30 * Day, "30d"},
		{36 * time.Hour, "1d12h"},
		{Week + time.Hour, "7d1h"},
		{1500 * time.Millisecond, "1s500ms"},
		{time.Nanosecond, "1ns"},
		{-10 * time.Minute, "-10m"},
		{math.MaxInt64, "106751d23h47m16s854ms775us807ns"},
		{math.MinInt64, "-106751d23h47m16s854ms775us808ns"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatDuration(tt.in); got != tt.want {
				t.Fatalf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.in == math.MinInt64 {
				return // its absolute value does not fit
			}
			back, err := ParseDuration(tt.want)
			if err != nil || back != tt.in {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.want, back, err, tt.in)
			}
		})
	}
}

func TestBanTimeInYAML(t *testing.T) {
	tests := []struct {
		in        string
		want      time.Duration
		permanent bool
	}{
		{"permanent", 0, true},
		{"1d", Day, false},
		{"2w", 2 * Week, false},
		{"1d12h", 36 * time.Hour, false},
		{"'90m'", 90 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			j := mustParse(t, sshd("    bantime: "+tt.in)).Jail("sshd")
			if j.BanTime != tt.want || j.Permanent != tt.permanent {
				t.Fatalf("bantime %s: got %v permanent=%v", tt.in, j.BanTime, j.Permanent)
			}
			d, perm := j.BanDuration(3)
			if d != tt.want || perm != tt.permanent {
				t.Fatalf("BanDuration(3) = %v, %v", d, perm)
			}
		})
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    string // PortSpec
		wantErr string
	}{
		{"ssh", "22", ""},
		{"SSH", "22", ""},
		{"ssh,ftp,ftp-data", "20:22", ""},
		{"ftp,ftp-data,ftps,ftps-data", "20:21,989:990", ""},
		{"http,https", "80,443", ""},
		{"smtp,465,submission", "25,465,587", ""},
		{"smtps,submissions", "465", ""},
		{"pop3,pop3s,imap,imaps,submission,465,sieve", "110,143,465,587,993,995,4190", ""},
		{"1000:2000,1500:2500,2501", "1000:2501", ""},
		{"80:90, 22", "22,80:90", ""},
		{"5:5", "5", ""},
		{"1:65535", "1:65535", ""},
		{"all", "", ""},
		{"ALL", "", ""},
		{"0", "", `port "0" is not a number from 1 to 65535`},
		{"65536", "", `port "65536"`},
		{"-1", "", `port "-1"`},
		{"2000:1000", "", `bad port range "2000:1000": 2000 is above 1000`},
		{"1:2:3", "", `bad port range "1:2:3"`},
		{"gopher", "", `unknown service name "gopher"`},
		{"ssh,all", "", `"all" cannot be combined`},
		{"", "", `port ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			rs, err := ParsePorts(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePorts(%q) = %v, %v; want error containing %q", tt.in, rs, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePorts(%q): %v", tt.in, err)
			}
			j := &Jail{Ports: rs}
			if got := j.PortSpec(); got != tt.want {
				t.Fatalf("ParsePorts(%q) gives PortSpec %q, want %q", tt.in, got, tt.want)
			}
			if j.AllPorts() != (tt.want == "") {
				t.Fatalf("AllPorts() = %v for %q", j.AllPorts(), tt.in)
			}
		})
	}
}

// TestPortYAML checks the YAML forms a port list may take.
func TestPortYAML(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"ssh", "22"},
		{"22", "22"},
		{"[ssh, 2222]", "22,2222"},
		{`"ssh,2222"`, "22,2222"},
		{"ssh 2222", "22,2222"},
		{"[22, '1000:2000', http]", "22,80,1000:2000"},
		{"1000:2000", "1000:2000"},
		{"[\"ssh, https\", 8443]", "22,443,8443"},
		{"all", ""},
		{"[all]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			j := mustParse(t, sshd("    port: "+tt.in)).Jail("sshd")
			if got := j.PortSpec(); got != tt.want {
				t.Fatalf("port: %s gives %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBanDuration(t *testing.T) {
	inc := func(factor float64, max time.Duration) *Jail {
		return &Jail{BanTime: 10 * time.Minute, Increment: Increment{Enabled: true, Factor: factor, MaxTime: max}}
	}
	tests := []struct {
		name    string
		j       *Jail
		offense int
		want    time.Duration
		perm    bool
	}{
		{"no increment", &Jail{BanTime: time.Hour, Increment: Increment{Factor: 2, MaxTime: Week}}, 5, time.Hour, false},
		{"permanent", &Jail{Permanent: true, Increment: Increment{Enabled: true, Factor: 2, MaxTime: Week}}, 2, 0, true},
		{"first", inc(2, Week), 1, 10 * time.Minute, false},
		{"zero counts as first", inc(2, Week), 0, 10 * time.Minute, false},
		{"second", inc(2, Week), 2, 20 * time.Minute, false},
		{"fourth", inc(2, Week), 4, 80 * time.Minute, false},
		{"factor 1.5", inc(1.5, Week), 3, 22*time.Minute + 30*time.Second, false},
		{"capped", inc(2, 2*time.Hour), 5, 2 * time.Hour, false},
		{"exactly maxtime", inc(2, 160*time.Minute), 5, 160 * time.Minute, false},
		{"factor 1", inc(1, Week), 100, 10 * time.Minute, false},
		{"overflow", inc(2, Week), 10000, Week, false},
		{"huge factor", inc(math.MaxFloat64, Week), 3, Week, false},
		{"maxint offense", inc(2, Week), math.MaxInt, Week, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, perm := tt.j.BanDuration(tt.offense)
			if d != tt.want || perm != tt.perm {
				t.Fatalf("BanDuration(%d) = %v, %v; want %v, %v", tt.offense, d, perm, tt.want, tt.perm)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.log", "a.log", "c.txt", "sub/d.log"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j := &Jail{Name: "x", LogPath: []string{
		filepath.Join(dir, "*.log"),
		filepath.Join(dir, "a.log"),       // again
		filepath.Join(dir, "missing.log"), // not there
		filepath.Join(dir, "none-*.log"),  // matches nothing
		filepath.Join(dir, "sub", "*"),
		filepath.Join(dir, "*"), // also matches the directory sub
	}}
	got, err := j.Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "c.txt"), filepath.Join(dir, "sub", "d.log")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Files() = %v, want %v", got, want)
	}
	// Globs are expanded at call time, not at load time.
	if err := os.WriteFile(filepath.Join(dir, "e.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Files(); len(got) != 5 {
		t.Fatalf("Files() after a new file = %v", got)
	}
	if got, err := (&Jail{LogPath: []string{filepath.Join(dir, "nothing")}}).Files(); err != nil || len(got) != 0 {
		t.Fatalf("Files() of a missing file = %v, %v", got, err)
	}
}

func TestIgnores(t *testing.T) {
	j := mustParse(t, sshd(`    ignoreip: [127.0.0.0/8, "::1", 192.0.2.0/24, "2001:db8:1::/48", 198.51.100.7]`)).Jail("sshd")
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"192.0.2.200", true},
		{"198.51.100.7", true},
		{"198.51.100.8", false},
		{"2001:db8:1:2::5", true},
		{"2001:db8:2::5", false},
		{"10.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := j.Ignores(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Fatalf("Ignores(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestParseIgnoreIP(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"192.0.2.1", "192.0.2.1/32", ""},
		{"192.0.2.1/24", "192.0.2.0/24", ""},
		{"::1", "::1/128", ""},
		{"2001:db8::7/32", "2001:db8::/32", ""},
		{"::ffff:192.0.2.1", "192.0.2.1/32", ""},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24", ""},
		{"0.0.0.0/0", "0.0.0.0/0", ""},
		{"example.com", "", "host name"},
		{"localhost", "", "host name"},
		{"fe80::1%eth0", "", "zone"},
		{"192.0.2.1/40", "", "not an address or CIDR"},
		{"1.2.3", "", "not an address or CIDR"},
		{"-", "", "not an address or CIDR"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseIgnoreIP(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.in) {
					t.Fatalf("ParseIgnoreIP(%q) = %v, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseIgnoreIP(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

const setConfig = `
jails:
  sshd:
    logpath: [/var/log/auth.log]
  custom:
    filter: {failregex: ['^x <HOST>']}
    logpath: [/var/log/custom.log]
    bantime_increment: {enabled: true, maxtime: 1d}
`

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(j *Jail) bool
	}{
		{"maxretry", "3", func(j *Jail) bool { return j.MaxRetry == 3 }},
		{"findtime", "1h", func(j *Jail) bool { return j.FindTime == time.Hour }},
		{"findtime", "2d", func(j *Jail) bool { return j.FindTime == 2*Day }},
		{"bantime", "12h", func(j *Jail) bool { return j.BanTime == 12*time.Hour && !j.Permanent }},
		{"bantime", "permanent", func(j *Jail) bool { return j.Permanent }},
		{"ignoreip", "10.0.0.0/8,192.0.2.1", func(j *Jail) bool {
			return reflect.DeepEqual(j.IgnoreIP, prefixes("10.0.0.0/8", "192.0.2.1/32"))
		}},
		{"ignoreip", "", func(j *Jail) bool { return len(j.IgnoreIP) == 0 }},
		{"ban_prefix6", "64", func(j *Jail) bool { return j.BanPrefix6 == 64 }},
		{"count_prefix6", "48", func(j *Jail) bool { return j.CountPrefix6 == 48 }},
		{"bantime_increment.enabled", "true", func(j *Jail) bool { return j.Increment.Enabled }},
		{"bantime_increment.factor", "3", func(j *Jail) bool { return j.Increment.Factor == 3 }},
		{"bantime_increment.maxtime", "4w", func(j *Jail) bool { return j.Increment.MaxTime == 4*Week }},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := mustParse(t, setConfig)
			if err := c.Set(tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			for _, j := range c.Jails {
				if !tt.check(j) {
					t.Errorf("jail %s after set %s=%s: %+v", j.Name, tt.key, tt.value, j)
				}
			}
			// What Set made is still a valid configuration.
			var out bytes.Buffer
			if err := c.Format(&out); err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(&out, "set.yaml"); err != nil {
				t.Fatalf("after Set, Format output does not parse: %v", err)
			}
		})
	}

	t.Run("mode", func(t *testing.T) {
		c := mustParse(t, setConfig)
		if err := c.Select("sshd"); err != nil {
			t.Fatal(err)
		}
		mode := c.Jail("sshd").Filter.Modes[len(c.Jail("sshd").Filter.Modes)-1]
		if err := c.Set("mode", mode); err != nil {
			t.Fatal(err)
		}
		if c.Jail("sshd").Mode != mode {
			t.Fatalf("mode = %q, want %q", c.Jail("sshd").Mode, mode)
		}
	})

	errTests := []struct {
		key, value, want string
	}{
		{"maxretry", "0", "set maxretry=0: maxretry must be at least 1, got 0"},
		{"maxretry", "many", "set maxretry=many: maxretry must be a whole number"},
		{"findtime", "600", "set findtime=600: invalid duration \"600\": missing unit"},
		{"findtime", "-1h", "set findtime=-1h: findtime must be positive, got -1h"},
		{"bantime", "0s", "set bantime=0s: bantime must be positive"},
		// custom's maxtime is 1d: a 2d bantime cannot grow up to it.
		{"bantime", "2d", `set bantime=2d: jail "custom": bantime_increment.maxtime 1d is shorter than bantime 2d`},
		{"ignoreip", "10.0.0.0/8,router.lan", `set ignoreip=10.0.0.0/8,router.lan: ignoreip "router.lan" is a host name`},
		{"mode", "aggressive-ish", `set mode=aggressive-ish: jail "custom": filter custom has no modes`},
		{"ban_prefix6", "200", "set ban_prefix6=200: ban_prefix6 must be from 1 to 128, got 200"},
		{"count_prefix6", "x", "set count_prefix6=x: count_prefix6 must be a whole number"},
		{"bantime_increment.factor", "0.5", "set bantime_increment.factor=0.5: bantime_increment.factor must be a number of at least 1"},
		{"bantime_increment.maxtime", "1m", `set bantime_increment.maxtime=1m: jail "custom": bantime_increment.maxtime 1m is shorter than bantime 10m`},
		{"port", "22", `set port=22: unknown key "port"`},
	}
	for _, tt := range errTests {
		t.Run("error "+tt.key+"="+tt.value, func(t *testing.T) {
			c := mustParse(t, setConfig)
			var before bytes.Buffer
			if err := c.Format(&before); err != nil {
				t.Fatal(err)
			}
			err := c.Set(tt.key, tt.value)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Set(%s, %s) = %v, want an error starting %q", tt.key, tt.value, err, tt.want)
			}
			var after bytes.Buffer
			if err := c.Format(&after); err != nil {
				t.Fatal(err)
			}
			if before.String() != after.String() {
				t.Errorf("a failed Set changed the configuration")
			}
		})
	}
}

func TestSelect(t *testing.T) {
	c := mustParse(t, setConfig)
	if err := c.Select("nope"); err == nil || !strings.Contains(err.Error(), `no jail "nope"`) {
		t.Errorf("Select(nope) = %v", err)
	}
	if len(c.Jails) != 2 {
		t.Fatalf("a failed Select changed the jails")
	}
	if err := c.Select(); err != nil || len(c.Jails) != 2 {
		t.Fatalf("Select() = %v, %d jails", err, len(c.Jails))
	}
	if err := c.Select("custom"); err != nil || len(c.Jails) != 1 || c.Jails[0].Name != "custom" {
		t.Fatalf("Select(custom) = %v, %v", err, c.Jails)
	}
}

// FuzzParse checks that Parse never panics, that what it accepts Format
// writes back, and that it reports problems only as *Errors with lines
// inside the input.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yaml", "errors.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(DefaultYAML())
	f.Add([]byte(setConfig))
	f.Add([]byte("jails: {a: {filter: {failregex: ['<HOST>']}, logpath: /x, port: '1:2,3'}}"))
	f.Add([]byte("jails: {a: {filter: {style: fail2ban, prefregex: '<F-CONTENT>.+</F-CONTENT>', failregex: ['(?!x)<HOST>'], datepattern: '%Y %Q', maxlines: 3}, logpath: /x}}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(bytes.NewReader(b), "fuzz.yaml")
		if err != nil {
			errs, ok := err.(*Errors)
			if !ok || len(*errs) == 0 {
				t.Fatalf("error %T %v is not a non-empty *Errors", err, err)
			}
			// YAML also breaks lines at \r, NEL, LS and PS.
			lines := bytes.Count(b, []byte("\n")) + bytes.Count(b, []byte("\r")) +
				bytes.Count(b, []byte("\u0085")) + bytes.Count(b, []byte("\u2028")) + bytes.Count(b, []byte("\u2029")) + 1
			utf16 := bytes.HasPrefix(b, []byte{0xfe, 0xff}) || bytes.HasPrefix(b, []byte{0xff, 0xfe})
			for _, e := range *errs {
				if e.Line < 0 || e.Line > lines && !utf16 { // lines counts UTF-8 only
					t.Fatalf("error line %d outside the input's %d lines: %v", e.Line, lines, e)
				}
			}
			return
		}
		var out bytes.Buffer
		if err := c.Format(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(&out, "formatted.yaml"); err != nil {
			t.Fatalf("Format output does not parse: %v\n%s", err, out.String())
		}
	})
}

// TestMergeLoops checks that merge keys cannot make Parse loop or take
// exponential time.
func TestMergeLoops(t *testing.T) {
	// Ten levels, each merging the previous one ten times: 10^10 merges
	// without memoisation.
	var b strings.Builder
	b.WriteString("jails:\n  l0: &l0 {logpath: /x, filter: sshd}\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d {<<: [", i, i)
		for k := 0; k < 10; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]}\n")
	}
	tests := []struct {
		name, src string
		wantErr   string
	}{
		{"self merge", "jails:\n  a: &x\n    <<: *x\n", "<< merges a mapping into itself"},
		{"self merge in list", "jails:\n  a: &x\n    <<: [*x]\n", "<< merges a mapping into itself"},
		{"merge of an ancestor", "jails: &x\n  a:\n    <<: *x\n", `jail "a": unknown key "a"`},
		{"nested merges", b.String(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Parse(strings.NewReader(tt.src), "loop.yaml")
				done <- err
			}()
			select {
			case err := <-done:
				if tt.wantErr == "" && err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("Parse = %v, want an error containing %q", err, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Parse did not return within 5s")
			}
		})
	}
}

func TestValidJailName(t *testing.T) {
	for name, want := range map[string]bool{
		"sshd": true, "a": true, "Web_2-x": true, "abcdefghijklmnopqrst": true,
		"": false, "abcdefghijklmnopqrstu": false, "ssh d": false, "sshé": false,
		"ssh.d": false, "ssh/d": false, "ssh\n": false,
	} {
		if got := validJailName(name); got != want {
			t.Errorf("validJailName(%q) = %v, want %v", name, got, want)
		}
	}
}
