package config

import (
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"logjail/analyze"
)

func loadFile(t *testing.T, name string) *Config {
	t.Helper()
	c, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return c
}

func prefixes(ss ...string) []netip.Prefix {
	ps := []netip.Prefix{}
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

func TestParseFull(t *testing.T) {
	c := loadFile(t, "full.yaml")
	if c.File != "testdata/full.yaml" || c.State != "/tmp/logjail-test/state.db" ||
		c.LockTimeout != 5*time.Second || c.History != 2*Week ||
		c.MetricsFile != "/var/lib/node_exporter/logjail.prom" {
		t.Errorf("top level: got %+v", c)
	}
	if want := (Firewall{Backend: BackendIPSet, BlockType: BlockReject, MaxElem: 65536}); c.Firewall != want {
		t.Errorf("firewall: got %+v, want %+v", c.Firewall, want)
	}
	wantDigest := Digest{
		To:    []string{"ops@example.com", "Second <second@example.com>"},
		From:  "logjail@example.com",
		Every: Day,
		SMTP: SMTP{Host: "mail.example.com", Port: 465, StartTLS: StartTLSImplicit,
			Username: "logjail", PasswordFile: "/etc/logjail/smtp.pass"},
	}
	if !reflect.DeepEqual(c.Digest, wantDigest) {
		t.Errorf("digest: got %+v, want %+v", c.Digest, wantDigest)
	}
	if !c.Digest.Enabled() {
		t.Errorf("digest with recipients is not enabled")
	}
	// A relative password_file is found beside the configuration file,
	// as the state is.
	rel, err := Parse(strings.NewReader("digest:\n  smtp: {username: u, password_file: smtp.pass}\n"), "/etc/logjail/logjail.yaml")
	if err != nil || rel.Digest.SMTP.PasswordFile != "/etc/logjail/smtp.pass" {
		t.Errorf("relative password_file: %q, %v", rel.Digest.SMTP.PasswordFile, err)
	}

	var names []string
	for _, j := range c.Jails {
		names = append(names, j.Name)
	}
	if want := []string{"myapp", "sshd", "sshd-alt", "web-udp"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("jails %v, want %v (sorted)", names, want)
	}
	if c.Jail("nope") != nil {
		t.Errorf("Jail(nope) is not nil")
	}

	inc := Increment{Enabled: true, Factor: 1.5, MaxTime: 36 * time.Hour}
	defIgnore := prefixes("127.0.0.0/8", "::1/128", "192.0.2.7/32", "2001:db8::/32")
	sshdFilter, _ := analyze.Builtin("sshd")
	tests := []struct {
		want *Jail
	}{
		{&Jail{Name: "sshd", Line: 18, Enabled: true, Filter: sshdFilter, Mode: defMode(sshdFilter),
			LogPath: []string{"/var/log/auth.log", "/var/log/secure"}, Ports: []PortRange{{22, 22}},
			Protocol: ProtoTCP, BanTime: time.Hour, FindTime: 30 * time.Minute, MaxRetry: 5,
			IgnoreIP: defIgnore, Start: StartBeginning, BanPrefix6: 64, CountPrefix6: 64, Increment: inc}},
		// Everything of sshd through the merge key, but its own port.
		{&Jail{Name: "sshd-alt", Line: 23, Enabled: true, Filter: sshdFilter, Mode: defMode(sshdFilter),
			LogPath: []string{"/var/log/auth.log", "/var/log/secure"}, Ports: []PortRange{{2222, 2222}},
			Protocol: ProtoTCP, BanTime: time.Hour, FindTime: 30 * time.Minute, MaxRetry: 5,
			IgnoreIP: defIgnore, Start: StartBeginning, BanPrefix6: 64, CountPrefix6: 64, Increment: inc}},
		{&Jail{Name: "myapp", Line: 26, Enabled: true, Mode: "",
			FailRegex:   []string{`^login failed for \S+ from <HOST>$`, `^bad password for <USER> from <HOST>`},
			IgnoreRegex: []string{`^login failed for test `},
			LogPath:     []string{"/var/log/myapp/*.log"}, Ports: []PortRange{{80, 80}, {443, 443}, {8000, 8100}},
			Protocol: ProtoTCP, Permanent: true, FindTime: 30 * time.Minute, MaxRetry: 3,
			IgnoreIP: defIgnore, Start: StartEnd, BanPrefix6: 64, CountPrefix6: 64, Increment: inc}},
		{&Jail{Name: "web-udp", Line: 35, Enabled: false, Mode: "",
			FailRegex: []string{`^denied <HOST>`}, IgnoreRegex: []string{},
			LogPath: []string{"/var/log/web.log"}, Ports: []PortRange{{53, 53}, {5000, 5010}},
			Protocol: ProtoUDP, BanTime: time.Hour, FindTime: 30 * time.Minute, MaxRetry: 3,
			IgnoreIP: []netip.Prefix{}, Start: StartBeginning, BanPrefix6: 64, CountPrefix6: 64,
			Increment: Increment{Enabled: false, Factor: 1.5, MaxTime: 36 * time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Name, func(t *testing.T) {
			got := c.Jail(tt.want.Name)
			if got == nil {
				t.Fatal("missing")
			}
			if got.Filter == nil {
				t.Fatal("no filter")
			}
			if tt.want.FailRegex != nil {
				if got.Filter.Name != tt.want.Name {
					t.Errorf("custom filter named %q, want the jail's name", got.Filter.Name)
				}
				tt.want.Filter = got.Filter
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// defMode is the default mode of f, "" without modes.
func defMode(f *analyze.Filter) string {
	if len(f.Modes) == 0 {
		return ""
	}
	return f.Modes[0]
}

func TestInheritance(t *testing.T) {
	c := mustParse(t, `
defaults:
  enabled: false
  bantime: 1h
  maxretry: 3
  ignoreip: 10.0.0.0/8
  port: ssh
  protocol: udp
  start: end
  ban_prefix6: 64
  bantime_increment: {enabled: true, maxtime: 2d}
  logpath: [/var/log/auth.log]
jails:
  a:
    filter: sshd
  b:
    filter: sshd
    enabled: true
    bantime: permanent
    maxretry: 7
    ignoreip: []
    port: all
    protocol: tcp
    start: beginning
    ban_prefix6: 128
    bantime_increment: {factor: 3}
    logpath: /var/log/secure
  sshd:
`)
	a, b, s := c.Jail("a"), c.Jail("b"), c.Jail("sshd")
	// a and sshd inherit everything.
	for _, j := range []*Jail{a, s} {
		if j.Enabled || j.BanTime != time.Hour || j.Permanent || j.MaxRetry != 3 ||
			!reflect.DeepEqual(j.IgnoreIP, prefixes("10.0.0.0/8")) || j.PortSpec() != "22" ||
			j.Protocol != ProtoUDP || j.Start != StartEnd || j.BanPrefix6 != 64 ||
			j.Increment != (Increment{true, 2, 2 * Day}) ||
			!reflect.DeepEqual(j.LogPath, []string{"/var/log/auth.log"}) ||
			j.FindTime != 10*time.Minute || j.Filter.Name != "sshd" {
			t.Errorf("jail %s did not inherit: %+v", j.Name, j)
		}
	}
	// b overrides everything; bantime_increment key by key.
	if !b.Enabled || !b.Permanent || b.MaxRetry != 7 || len(b.IgnoreIP) != 0 || !b.AllPorts() ||
		b.Protocol != ProtoTCP || b.Start != StartBeginning || b.BanPrefix6 != 128 ||
		b.Increment != (Increment{true, 3, 2 * Day}) ||
		!reflect.DeepEqual(b.LogPath, []string{"/var/log/secure"}) {
		t.Errorf("jail b did not override: %+v", b)
	}
	if got := c.Enabled(); len(got) != 1 || got[0] != b {
		t.Errorf("Enabled() = %v, want [b]", got)
	}
}

// TestBuiltinDefaults checks the values used when neither a jail nor the
// defaults section sets anything, and of an empty file.
func TestBuiltinDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "~\n", "jails:\n"} {
		c := mustParse(t, src)
		if c.State != "/var/lib/logjail/state.db" || c.LockTimeout != 30*time.Second || c.History != 30*Day ||
			c.MetricsFile != "" || c.Firewall != (Firewall{BackendIPTables, BlockDrop, 1 << 20}) ||
			len(c.Jails) != 0 || c.Digest.Enabled() || c.Digest.Every != time.Hour ||
			c.Digest.SMTP != (SMTP{Host: "localhost", Port: 25, StartTLS: StartTLSAuto}) {
			t.Errorf("Parse(%q) = %+v", src, c)
		}
	}
	j := mustParse(t, "jails:\n  sshd:\n    logpath: [/var/log/auth.log]\n").Jail("sshd")
	want := &Jail{Name: "sshd", Line: 2, Enabled: true, Filter: j.Filter, Mode: defMode(j.Filter),
		LogPath: []string{"/var/log/auth.log"}, Protocol: ProtoTCP, BanTime: 10 * time.Minute,
		FindTime: 10 * time.Minute, MaxRetry: 5, IgnoreIP: prefixes("127.0.0.0/8", "::1/128"),
		Start: StartBeginning, BanPrefix6: 128, CountPrefix6: 64, Increment: Increment{false, 2, Week}}
	if j.Filter.Name != "sshd" || !reflect.DeepEqual(j, want) {
		t.Errorf("got  %+v\nwant %+v", j, want)
	}
}

func TestDefault(t *testing.T) {
	// The embedded file itself, parsed strictly: the only problems allowed
	// are filters that are not compiled in yet.
	_, err := Parse(bytes.NewReader(DefaultYAML()), "default.yaml")
	if err != nil {
		var errs *Errors
		if !errors.As(err, &errs) {
			t.Fatal(err)
		}
		for _, e := range *errs {
			if !strings.Contains(e.Msg, "unknown filter") {
				t.Errorf("embedded default: %v", e)
			}
		}
	}
	// It names a jail for every filter logjail ships, on the agreed paths.
	var raw struct {
		Jails map[string]struct {
			Enabled bool
			Filter  string
			Logpath []string
			Port    []string
		}
	}
	if err := yaml.Unmarshal(DefaultYAML(), &raw); err != nil {
		t.Fatal(err)
	}
	wantPaths := map[string][]string{
		"sshd":            {"/var/log/auth.log", "/var/log/secure"},
		"vsftpd":          {"/var/log/vsftpd.log"},
		"proftpd":         {"/var/log/proftpd/proftpd.log", "/var/log/auth.log", "/var/log/secure"},
		"pure-ftpd":       {"/var/log/syslog", "/var/log/messages"},
		"apache-auth":     {"/var/log/apache2/*error.log", "/var/log/httpd/*error_log"},
		"nginx-http-auth": {"/var/log/nginx/*error.log"},
		"postfix":         {"/var/log/mail.log", "/var/log/maillog"},
		"dovecot":         {"/var/log/mail.log", "/var/log/maillog"},
	}
	if len(raw.Jails) != len(wantPaths) {
		t.Errorf("default has %d jails, want %d", len(raw.Jails), len(wantPaths))
	}
	for name, paths := range wantPaths {
		j, ok := raw.Jails[name]
		if !ok {
			t.Errorf("default has no jail %s", name)
			continue
		}
		if j.Filter != name || !reflect.DeepEqual(j.Logpath, paths) || j.Enabled != (name == "sshd") {
			t.Errorf("default jail %s = %+v, want filter %s, logpath %v, enabled only for sshd", name, j, name, paths)
		}
	}

	c := Default()
	if c.File != DefaultName || c.State != "/var/lib/logjail/state.db" || c.LockTimeout != 30*time.Second ||
		c.History != 30*Day || c.Firewall.Backend != BackendIPTables {
		t.Errorf("Default() = %+v", c)
	}
	// Every compiled-in filter has its jail, and only those are there.
	for _, f := range analyze.Builtins() {
		j := c.Jail(f.Name)
		if j == nil {
			t.Errorf("Default() has no jail for built-in filter %s", f.Name)
			continue
		}
		if j.Filter != f || j.Enabled != (f.Name == "sshd") || j.MaxRetry != 5 ||
			j.BanTime != 10*time.Minute || j.FindTime != 10*time.Minute ||
			!reflect.DeepEqual(j.IgnoreIP, prefixes("127.0.0.0/8", "::1/128")) {
			t.Errorf("Default() jail %s = %+v", f.Name, j)
		}
	}
	if len(c.Jails) != len(analyze.Builtins()) {
		t.Errorf("Default() has %d jails, %d built-in filters", len(c.Jails), len(analyze.Builtins()))
	}
	s := c.Jail("sshd")
	if s == nil || !s.Enabled || s.PortSpec() != "22" {
		t.Fatalf("Default() sshd = %+v", s)
	}
	// Callers may change what they get.
	s.MaxRetry = 1
	if Default().Jail("sshd").MaxRetry != 5 {
		t.Errorf("Default() shares its jails between calls")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "logjail.yaml")
	if _, err := Load(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want an error naming the file, wrapping fs.ErrNotExist", err)
	}

	old := defaultPath
	defer func() { defaultPath = old }()
	defaultPath = missing
	c, err := Load(missing)
	if err != nil || c.File != DefaultName {
		t.Fatalf("Load(default path, missing) = %v, %v; want the embedded default", c, err)
	}

	if err := os.WriteFile(missing, []byte("state: /tmp/x.db\njails:\n  sshd:\n    logpath: [/l]\n    maxretry: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(missing)
	var errs *Errors
	if !errors.As(err, &errs) || len(*errs) != 1 || (*errs)[0].Line != 5 || (*errs)[0].File != missing {
		t.Fatalf("Load(bad file) = %v, want one error at %s:5", err, missing)
	}

	if err := os.WriteFile(missing, []byte("state: /tmp/x.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(missing)
	if err != nil || c.State != "/tmp/x.db" || c.File != missing {
		t.Fatalf("Load(existing default path) = %+v, %v", c, err)
	}
}

// comparableJails returns the jails with its filter replaced by the filter's name, so
// jails built by two parses compare equal.
func comparableJails(js []*Jail) []Jail {
	var out []Jail
	for _, j := range js {
		c := *j
		c.Line = 0
		if c.Filter != nil {
			c.Filter = &analyze.Filter{Name: c.Filter.Name, Modes: c.Filter.Modes}
		}
		out = append(out, c)
	}
	return out
}

func TestFormatRoundTrip(t *testing.T) {
	configs := map[string]*Config{
		"default": Default(),
		"full":    loadFile(t, "full.yaml"),
		"empty":   mustParse(t, ""),
		"quoting": mustParse(t, `
metrics_file: "/tmp/with space: and colon #hash"
jails:
  odd:
    filter:
      failregex: ['^it''s "<HOST>" \d+ # not a comment', "^tab\there <HOST>"]
    logpath: ['/var/log/a b/*.log', "/var/log/[ab]?.log"]
    ignoreip: ['::ffff:192.0.2.1', 192.0.2.128/25, "2001:db8::1/64"]
    bantime: 1d12h30m15s
    findtime: 1500ms
    bantime_increment: {enabled: true, factor: 1.25, maxtime: 4w}
digest:
  to: "a@example.com, b@example.com"
  from: '"Log Jail" <logjail@example.com>'
`),
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := c.Format(&out); err != nil {
				t.Fatal(err)
			}
			back, err := Parse(bytes.NewReader(out.Bytes()), "formatted.yaml")
			if err != nil {
				t.Fatalf("Parse(Format()) failed: %v\n%s", err, out.String())
			}
			if !reflect.DeepEqual(comparableJails(back.Jails), comparableJails(c.Jails)) {
				t.Errorf("jails differ after round trip:\n%+v\n%+v\n%s", comparableJails(back.Jails), comparableJails(c.Jails), out.String())
			}
			back.File, back.Jails, back.Notes = c.File, c.Jails, c.Notes // notes are about the machine, not in the YAML
			if !reflect.DeepEqual(back, c) {
				t.Errorf("config differs after round trip:\n%+v\n%+v\n%s", back, c, out.String())
			}
			var again bytes.Buffer
			if err := back.Format(&again); err != nil {
				t.Fatal(err)
			}
			if again.String() != out.String() {
				t.Errorf("Format is not stable:\n%s\n---\n%s", out.String(), again.String())
			}
		})
	}
	// The prefixes really are normalised as they should be.
	j := configs["quoting"].Jail("odd")
	if want := prefixes("192.0.2.1/32", "192.0.2.128/25", "2001:db8::/64"); !reflect.DeepEqual(j.IgnoreIP, want) {
		t.Errorf("ignoreip = %v, want %v", j.IgnoreIP, want)
	}
}

func TestAnchorsAndNulls(t *testing.T) {
	c := mustParse(t, `
defaults:
  logpath: &logs [/var/log/auth.log]
  maxretry:
jails:
  sshd:
    logpath: *logs
    bantime: ~
    port: &p [ssh, 2222]
  other:
    <<: [{filter: sshd, port: 1}, {maxretry: 9, port: 2}]
    logpath: *logs
`)
	s, o := c.Jail("sshd"), c.Jail("other")
	if s.MaxRetry != 5 || s.BanTime != 10*time.Minute || s.PortSpec() != "22,2222" {
		t.Errorf("sshd = %+v", s)
	}
	if o.Filter.Name != "sshd" || o.MaxRetry != 9 || o.PortSpec() != "1" {
		t.Errorf("other = %+v", o)
	}
}
