package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// parseString parses src as "test.yaml" and returns the problems found.
func parseString(t *testing.T, src string) (*Config, Errors) {
	t.Helper()
	c, err := Parse(strings.NewReader(src), "test.yaml")
	if err == nil {
		if c == nil {
			t.Fatal("Parse returned neither a Config nor an error")
		}
		return c, nil
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse error is %T, not *Errors: %v", err, err)
	}
	if c != nil {
		t.Errorf("Parse returned a Config along with errors")
	}
	if len(*errs) == 0 {
		t.Fatal("Parse returned an empty *Errors")
	}
	return nil, *errs
}

// mustParse parses src and fails the test on any problem.
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, errs := parseString(t, src)
	if errs != nil {
		t.Fatalf("Parse: unexpected errors:\n%v", errs)
	}
	return c
}

// sshd starts a file whose sshd jail is valid; the lines given follow,
// the first of them being line 4.
func sshd(lines ...string) string {
	return "jails:\n  sshd:\n    logpath: [/var/log/auth.log]\n" + strings.Join(lines, "\n") + "\n"
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		want []string // substrings of the message
	}{
		// Unknown keys and wrong types.
		{"unknown top key", "statee: /x\n", 1, []string{`unknown key "statee"`, "state, lock_timeout"}},
		{"unknown jail key", sshd("    maxretries: 3"), 4, []string{`jail "sshd"`, `unknown key "maxretries"`}},
		{"unknown defaults key", "defaults:\n  bantim: 1h\n", 2, []string{"defaults: ", `unknown key "bantim"`}},
		{"unknown firewall key", "firewall:\n  chain: x\n", 2, []string{`firewall: unknown key "chain"`, "backend, blocktype, maxelem"}},
		{"unknown smtp key", "digest:\n  smtp:\n    server: x\n", 3, []string{`digest.smtp: unknown key "server"`}},
		{"unknown increment key", sshd("    bantime_increment: {enabled: true, multiplier: 3}"), 4, []string{`jail "sshd": bantime_increment: unknown key "multiplier"`}},
		{"repeated key", sshd("    maxretry: 3", "    maxretry: 4"), 5, []string{`key "maxretry" repeated (first on line 4)`}},
		{"repeated jail", sshd("  sshd:", "    enabled: false"), 4, []string{`key "sshd" repeated (first on line 2)`}},
		{"maxretry not a number", sshd(`    maxretry: "five"`), 4, []string{"maxretry must be a whole number", `"five"`}},
		{"maxretry float", sshd("    maxretry: 2.5"), 4, []string{"maxretry must be a whole number", "2.5"}},
		{"enabled not a bool", sshd("    enabled: yes"), 4, []string{"enabled must be true or false", `"yes"`}},
		{"state a list", "state: [a, b]\n", 1, []string{"state must be a single value, got a list"}},
		{"jails a list", "jails: [sshd]\n", 1, []string{"jails must be a mapping"}},
		{"jail a string", "jails:\n  sshd: on\n", 2, []string{`jail "sshd": must be a mapping`, `"on"`}},
		{"root a list", "- a\n- b\n", 1, []string{"must be a mapping of keys"}},
		{"yaml syntax", "state: /x\nhistory: 1d\njails:\n\tsshd: {}\n", 4, []string{"yaml: found character that cannot start any token"}},
		{"second document", "state: /x\n---\nstate: /y\n", 2, []string{"second YAML document"}},

		// Impossible values.
		{"maxretry zero", sshd("    maxretry: 0"), 4, []string{`jail "sshd": maxretry must be at least 1, got 0`}},
		{"maxretry negative in defaults", "defaults:\n  maxretry: -2\n", 2, []string{"defaults: maxretry must be at least 1, got -2"}},
		{"findtime zero", sshd("    findtime: 0s"), 4, []string{"findtime must be positive, got 0s"}},
		{"findtime negative", sshd("    findtime: -5m"), 4, []string{"findtime must be positive, got -5m"}},
		{"findtime integer", sshd("    findtime: 600"), 4, []string{"findtime: 600 has no unit; write 600s"}},
		{"bantime integer", sshd("    bantime: 3600"), 4, []string{"bantime: 3600 has no unit; write 3600s"}},
		{"bantime zero", sshd("    bantime: 0s"), 4, []string{`bantime must be positive or "permanent", got 0s`}},
		{"bantime word", sshd("    bantime: forever"), 4, []string{"bantime: invalid duration", `"forever"`}},
		{"duration no unit", "lock_timeout: 10d5\n", 1, []string{"lock_timeout: invalid duration", `"10d5"`, "missing unit"}},
		{"lock_timeout negative", "lock_timeout: -1s\n", 1, []string{`lock_timeout must not be negative, got "-1s"`}},
		{"history zero", "history: 0d\n", 1, []string{`history must be positive, got "0d"`}},
		{"unknown filter", sshd("    filter: sshdd"), 4, []string{`unknown filter "sshdd"`, "sshd"}},
		{"filter a list", sshd("    filter: [sshd]"), 4, []string{"filter must be a built-in filter's name or a mapping"}},
		{"no filter, no such built-in", "jails:\n  myapp-x:\n    logpath: [/var/log/x]\n", 2, []string{`jail "myapp-x": no filter: given`, `"myapp-x"`}},
		{"unknown mode", sshd("    mode: turbo"), 4, []string{`jail "sshd": mode "turbo"`, "turbo"}},
		{"unknown mode from defaults", "defaults:\n  mode: turbo\n" + strings.TrimPrefix(sshd(), ""), 2, []string{`jail "sshd": mode "turbo"`}},
		{"failregex without HOST", sshd("    filter:", "      failregex: ['^failed from \\S+$']"), 5, []string{`filter.failregex "^failed from \\S+$"`, "<HOST> exactly once, found 0"}},
		{"failregex with HOST twice", sshd("    filter:", "      failregex:", "        - '^ok <HOST>'", "        - '<HOST> <HOST>'"), 7, []string{"<HOST> exactly once, found 2"}},
		{"failregex does not compile", sshd("    filter:", "      failregex: ['^failed (from <HOST>']"), 5, []string{`"^failed (from <HOST>"`, "does not compile", "missing closing )"}},
		{"ignoreregex does not compile", sshd("    filter:", "      failregex: ['<HOST>']", "      ignoreregex: ['a[b']"), 6, []string{`filter.ignoreregex "a[b"`, "does not compile"}},
		{"custom filter without failregex", sshd("    filter:", "      ignoreregex: ['x']"), 5, []string{"needs at least one failregex"}},
		{"custom filter unknown key", sshd("    filter:", "      failregex: ['<HOST>']", "      journalmatch: x"), 6, []string{`jail "sshd": filter: unknown key "journalmatch"`}},
		{"fail2ban key without style", sshd("    filter:", "      failregex: ['<HOST>']", "      prefregex: x"), 6, []string{`jail "sshd": filter.prefregex needs style: fail2ban`}},
		{"bad ignoreip", sshd("    ignoreip: [10.0.0.0/8, 300.1.2.3]"), 4, []string{`ignoreip "300.1.2.3" is not an address or CIDR`}},
		{"bad ignoreip prefix", sshd("    ignoreip: 10.0.0.0/33"), 4, []string{`ignoreip "10.0.0.0/33"`}},
		{"ignoreip hostname", sshd("    ignoreip:", "      - ::1", "      - gateway.example.com"), 6, []string{`ignoreip "gateway.example.com" is a host name`, "no DNS"}},
		{"port too big", sshd("    port: 70000"), 4, []string{`port "70000" is not a number from 1 to 65535`}},
		{"port zero", sshd("    port: [0]"), 4, []string{`port "0" is not a number`}},
		{"port unknown service", sshd("    port: ssh,sshh"), 4, []string{`unknown service name "sshh"`}},
		{"port reversed range", sshd("    port: [22, '2000:1000']"), 4, []string{`bad port range "2000:1000"`}},
		{"port range bad end", sshd("    port: '1000:x'"), 4, []string{`bad port range "1000:x"`}},
		{"port all and more", sshd("    port: [ssh, all]"), 4, []string{`"all" cannot be combined`}},
		{"port empty", sshd("    port: []"), 4, []string{"port must not be empty"}},
		{"too many multiport", sshd("    port: 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31"), 4, []string{"16 iptables multiport slots"}},
		{"too many multiport, ranges count 2", sshd("    port: [1:2, 4:5, 7:8, 10:11, 13:14, 16:17, 19:20, 22:23]"), 4, []string{"16 iptables multiport slots"}},
		{"protocol", sshd("    protocol: sctp"), 4, []string{`protocol must be tcp or udp, got "sctp"`}},
		{"start", sshd("    start: middle"), 4, []string{`start must be beginning or end, got "middle"`}},
		{"ban_prefix6 zero", sshd("    ban_prefix6: 0"), 4, []string{"ban_prefix6 must be from 1 to 128, got 0"}},
		{"ban_prefix6 too big", sshd("    ban_prefix6: 129"), 4, []string{"ban_prefix6 must be from 1 to 128, got 129"}},
		{"count_prefix6 zero", sshd("    count_prefix6: 0"), 4, []string{"count_prefix6 must be from 1 to 128 (128 turns the network rule off), got 0"}},
		{"factor below 1", sshd("    bantime_increment: {factor: 0.5}"), 4, []string{"bantime_increment.factor must be a number of at least 1, got 0.5"}},
		{"factor not a number", sshd("    bantime_increment: {factor: double}"), 4, []string{"factor must be a number", `"double"`}},
		{"maxtime below bantime", sshd("    bantime: 2w", "    bantime_increment:", "      enabled: true", "      maxtime: 1w"), 7, []string{"bantime_increment.maxtime 1w is shorter than bantime 2w"}},
		{"maxtime below bantime from defaults", "defaults:\n  bantime_increment: {enabled: true}\n" + sshd("    bantime: 2w"), 6, []string{"maxtime 1w is shorter than bantime 2w"}},
		{"maxtime zero", sshd("    bantime_increment: {maxtime: 0s}"), 4, []string{"bantime_increment.maxtime must be positive"}},
		{"jail name too long", "jails:\n  this-jail-name-is-too-long:\n    logpath: [/x]\n", 2, []string{`jail name "this-jail-name-is-too-long"`, "1 to 20"}},
		{"jail name bad character", "jails:\n  'ssh d':\n    logpath: [/x]\n", 2, []string{`jail name "ssh d"`}},
		{"logpath bad glob", "jails:\n  sshd:\n    logpath:\n      - '/var/log/[a.log'\n", 4, []string{`logpath "/var/log/[a.log" is not a valid glob`}},
		{"enabled without logpath", "jails:\n  sshd: {}\n", 2, []string{`jail "sshd": the jail is enabled but has no logpath`}},
		{"enabled without logpath, empty list", "jails:\n  sshd:\n    logpath: []\n", 3, []string{"enabled but has no logpath"}},

		// Firewall and digest.
		{"backend", "firewall:\n  backend: pf\n", 2, []string{`firewall.backend must be iptables or ipset or nftables or none, got "pf"`}},
		{"blocktype", "firewall: {blocktype: ACCEPT}\n", 1, []string{`firewall.blocktype must be DROP or REJECT, got "ACCEPT"`}},
		{"blocktype lower case", "firewall: {blocktype: drop}\n", 1, []string{`got "drop"`}},
		{"maxelem zero", "firewall:\n  maxelem: 0\n", 2, []string{"firewall.maxelem must be from 1", "got 0"}},
		{"digest every zero", "digest:\n  every: 0s\n", 2, []string{`digest.every must be positive, got "0s"`}},
		{"digest every integer", "digest:\n  every: 60\n", 2, []string{"digest.every: 60 has no unit; write 60s"}},
		{"starttls", "digest:\n  smtp: {starttls: maybe}\n", 2, []string{`digest.smtp.starttls must be auto or always or never or tls, got "maybe"`}},
		{"smtp port", "digest:\n  smtp:\n    port: 0\n", 3, []string{"digest.smtp.port must be from 1 to 65535, got 0"}},
		{"smtp empty host", "digest:\n  smtp:\n    host: ''\n", 3, []string{"digest.smtp.host must not be empty"}},
		{"bad recipient", "digest:\n  from: a@example.com\n  to:\n    - ops@example.com\n    - not an address\n", 5, []string{`digest.to: bad mail address "not an address"`}},
		{"bad sender", "digest:\n  from: '@@'\n", 2, []string{`digest.from: bad mail address "@@"`}},
		{"to without from", "digest:\n  to: ops@example.com\n", 2, []string{"digest.from is needed"}},
		{"to with empty from", "digest:\n  from: ''\n  to: [ops@example.com]\n", 3, []string{"digest.from is needed"}},
		{"username without password file", "digest:\n  smtp:\n    username: bob\n", 3, []string{`digest.smtp.username "bob" needs a password_file`}},
		{"password file without username", "digest:\n  smtp:\n    password_file: /etc/pw\n", 3, []string{`digest.smtp.password_file "/etc/pw" needs a username`}},
		{"sendmail relative", "digest:\n  sendmail: sendmail\n", 2, []string{`digest.sendmail must be an absolute path (/usr/sbin/sendmail), got "sendmail"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parseString(t, tt.src)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v\nsource:\n%s", len(errs), errs, tt.src)
			}
			e := errs[0]
			if e.File != "test.yaml" || e.Line != tt.line {
				t.Errorf("error at %s:%d, want test.yaml:%d: %v", e.File, e.Line, tt.line, e)
			}
			msg := e.Error()
			if prefix := "config test.yaml:" + strconv.Itoa(tt.line) + ": "; !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestParseErrorsAll checks that one file's problems are all reported, in
// the order of the file, against a golden file.
func TestParseErrorsAll(t *testing.T) {
	path := filepath.Join("testdata", "errors.yaml")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, perr := Parse(f, path)
	var errs *Errors
	if !errors.As(perr, &errs) {
		t.Fatalf("Parse(%s) = %v, want *Errors", path, perr)
	}
	// The list of built-in filters grows; the golden file must not care.
	got := regexp.MustCompile(`built-in filters: [^;)]*`).ReplaceAllString(perr.Error(), "built-in filters: ...") + "\n"
	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("errors differ from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
	// Independently of the golden file: one error on each line marked
	// "# error" in the input, and none elsewhere.
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wantLines []int
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(l, "# error") {
			wantLines = append(wantLines, i+1)
		}
	}
	var gotLines []int
	for _, e := range *errs {
		gotLines = append(gotLines, e.Line)
	}
	if len(gotLines) != len(wantLines) {
		t.Fatalf("errors on lines %v, want %v", gotLines, wantLines)
	}
	for i := range gotLines {
		if gotLines[i] != wantLines[i] {
			t.Fatalf("errors on lines %v, want %v", gotLines, wantLines)
		}
	}
	// Every entry names the file and line, and Unwrap exposes them.
	re := regexp.MustCompile(`^config testdata/errors\.yaml:\d+: `)
	for _, l := range strings.Split(perr.Error(), "\n") {
		if !re.MatchString(l) {
			t.Errorf("error line %q does not start with file:line", l)
		}
	}
	var one *Error
	if !errors.As(perr, &one) || one != (*errs)[0] {
		t.Errorf("errors.As(*Error) does not find the first entry")
	}
}

func TestRelativePathsFromFileDir(t *testing.T) {
	src := "state: lib/state.db\njails:\n  sshd:\n    logpath: [logs/auth.log, /var/log/secure]\n"
	c, err := Parse(strings.NewReader(src), "/etc/logjail/site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "/etc/logjail/lib/state.db" {
		t.Errorf("state %q, want it under the file's directory", c.State)
	}
	if got := c.Jail("sshd").LogPath; len(got) != 2 || got[0] != "/etc/logjail/logs/auth.log" || got[1] != "/var/log/secure" {
		t.Errorf("logpath %q", got)
	}
}
