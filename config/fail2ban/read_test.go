package fail2ban

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"logjail/internal/f2btest"
	"logjail/internal/testenv"
)

// copyStock copies the installed /etc/fail2ban into a temporary directory
// (at test time: nothing of it is kept in this tree).
func copyStock(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/etc/fail2ban/jail.conf"); err != nil {
		testenv.Missing(t, "needs Debian's fail2ban configuration: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "fail2ban")
	if out, err := exec.Command("cp", "-r", "/etc/fail2ban", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	return dir
}

// write writes the files of a test configuration.
func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// stockJails lists the jail sections of the installed jail.conf.
func stockJails(t testing.TB, dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, "jail.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "[") && strings.HasSuffix(strings.TrimSpace(l), "]") {
			n := strings.Trim(strings.TrimSpace(l), "[]")
			if n != "DEFAULT" && n != "INCLUDES" {
				names = append(names, n)
			}
		}
	}
	return names
}

// testOverrides turns on every stock jail with its log in logs/, and
// overrides values the way administrators do, in jail.local and jail.d.
func testOverrides(t testing.TB, dir string) {
	logs := filepath.Join(dir, "logs")
	var all strings.Builder
	for _, n := range stockJails(t, dir) {
		fmt.Fprintf(&all, "[%s]\nenabled = true\nlogpath = %s/%s.log\n\n", n, logs, n)
		write(t, logs, map[string]string{n + ".log": "", n + "-2.log": ""})
	}
	write(t, dir, map[string]string{
		"jail.d/00-all.local": all.String(),
		"jail.local": `# logjail's test: values people override
[DEFAULT]
bantime = 1h
findtime = 20m
maxretry = 4
ignoreip = 127.0.0.1/8 ::1, 192.0.2.0/24

[sshd]
mode = aggressive
port = ssh,2222
maxretry = 3
bantime = -1

[recidive]
bantime = 1w
findtime = 1d

[postfix]
mode = auth

[dovecot]
port = 0:65535
protocol = udp

[nginx-http-auth]
filter = nginx-http-auth[mode=fallback]
`,
		"jail.d/10-myapp.conf": `[myapp]
enabled = true
filter = myapp[greeting="hello there", who=admin]
logpath = ` + logs + `/myapp*.log
          ` + logs + `/other.log tail
maxretry = 2
findtime = 1h
ignoreregex = from 198\.51\.100\.
`,
		"jail.d/20-journal.local": `[sshd]
backend = systemd
journalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd
`,
		"filter.d/myapp.conf": `[INCLUDES]
before = common.conf

[Init]
greeting = hi
who = nobody

[Definition]
_daemon = myapp
failregex = ^%(__prefix_line)s<greeting>: login failed for <who> from <HOST>$
            ^%(__prefix_line)sbad token from <ADDR>
datepattern = ^%%Y-%%m-%%d %%H:%%M:%%S
`,
		"filter.d/myapp.local": `[Definition]
failregex = %(known/failregex)s
            ^%(__prefix_line)stoo many tries from <HOST>
`,
		"logs/myapp.log":   "",
		"logs/myapp-2.log": "",
		"logs/other.log":   "",
	})
}

// clientDump runs fail2ban-client -c dir -d and returns its commands,
// read by Python's ast (they are Python literals).
func clientDump(t testing.TB, dir string) [][]any {
	in := f2btest.Find(t)
	cmd := exec.Command(in.Client, "-c", dir, "-d")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban-client -d: %v", err)
	}
	conv := exec.Command(in.Python, "-c", `import ast, json, sys
print(json.dumps([ast.literal_eval(l) for l in sys.stdin if l.startswith("[")]))`)
	conv.Stdin = strings.NewReader(string(out))
	js, err := conv.Output()
	if err != nil {
		t.Fatalf("literal_eval: %v", err)
	}
	var cmds [][]any
	if err := json.Unmarshal(js, &cmds); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// resolvedView is what the comparison looks at, per jail.
type resolvedView map[string]any

// fromClient collects fail2ban's commands per jail.
func fromClient(cmds [][]any) (map[string]resolvedView, []string) {
	jails := map[string]resolvedView{}
	var errs []string
	for _, c := range cmds {
		op, _ := c[0].(string)
		if op == "config-error" {
			errs = append(errs, fmt.Sprint(c[1]))
			continue
		}
		if len(c) < 3 {
			continue
		}
		name, _ := c[1].(string)
		switch op {
		case "add":
			jails[name] = resolvedView{"backend": c[2]}
		case "set", "multi-set":
			j := jails[name]
			if j == nil {
				continue
			}
			key := c[2].(string)
			switch key {
			case "addfailregex", "addignoreregex":
				if op == "multi-set" {
					for _, x := range c[3].([]any) {
						j[key] = append(asList(j[key]), x)
					}
				} else {
					j[key] = append(asList(j[key]), c[3])
				}
			case "addlogpath":
				j[key] = append(asList(j[key]), fmt.Sprint(c[3], " ", c[4]))
			case "addjournalmatch":
				j[key] = append(asList(j[key]), joinAny(c[3:]))
			case "addignoreip":
				j[key] = append(asList(j[key]), c[3:]...)
			case "action":
				if _, ok := j["port"]; ok {
					continue
				}
				for _, kv := range c[4].([]any) {
					p := kv.([]any)
					if k := p[0].(string); k == "port" || k == "protocol" {
						j[k] = p[1]
					}
				}
			case "prefregex", "datepattern", "usedns", "findtime", "bantime":
				j[key] = c[3]
			case "maxretry", "maxlines":
				j[key] = fmt.Sprint(c[3])
			}
		}
	}
	return jails, errs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func joinAny(xs []any) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// fromRead makes the same view from this package's resolution.
func fromRead(t testing.TB, cfg *Config) map[string]resolvedView {
	out := map[string]resolvedView{}
	for _, j := range cfg.Jails {
		if !j.Enabled {
			continue
		}
		v := resolvedView{}
		backend, _ := j.Get("backend")
		v["backend"] = backend
		for _, k := range []string{"prefregex", "datepattern", "usedns", "maxlines"} {
			if x, ok := j.Regexes(k); ok {
				v[k] = x.text
			}
		}
		for _, k := range []string{"failregex", "ignoreregex"} {
			if x, ok := j.Regexes(k); ok {
				for _, l := range splitLines(x.text) {
					v["add"+k] = append(asList(v["add"+k]), l)
				}
			}
		}
		if x, ok := j.Regexes("journalmatch"); ok {
			for _, l := range splitLines(x.text) {
				v["addjournalmatch"] = append(asList(v["addjournalmatch"]), strings.Join(strings.Fields(l), " "))
			}
		}
		for _, k := range []string{"maxretry", "findtime", "bantime"} {
			if x, ok := j.Get(k); ok {
				v[k] = x
			}
		}
		if x, ok := j.Get("ignoreip"); ok {
			for _, w := range SplitWords(x) {
				v["addignoreip"] = append(asList(v["addignoreip"]), w)
			}
		}
		if !strings.HasPrefix(backend, "systemd") {
			lp, _ := j.Get("logpath")
			paths, err := LogPaths(lp)
			if err != nil {
				t.Errorf("jail %s: %v", j.Name, err)
			}
			for _, p := range paths {
				v["addlogpath"] = append(asList(v["addlogpath"]), p.Path+" "+p.Tail)
			}
		}
		for _, k := range []string{"port", "protocol"} {
			if x, ok := j.Get(k); ok {
				v[k] = x
			}
		}
		out[j.Name] = v
	}
	return out
}

// TestReadEqualsFail2banClient resolves Debian's stock configuration with
// every jail enabled and administrators' overrides (jail.local, jail.d,
// a filter of their own with [Init] options and a .local using
// known/failregex, modes, backend = systemd) and compares every jail with
// what fail2ban-client -d prints for the same directory.
func TestReadEqualsFail2banClient(t *testing.T) {
	dir := copyStock(t)
	testOverrides(t, dir)
	want, cerrs := fromClient(clientDump(t, dir))
	for _, e := range cerrs {
		t.Logf("fail2ban-client: %s", e)
	}
	cfg, probs := Read(dir)
	for _, p := range probs {
		t.Errorf("problem: %v", p)
	}
	got := fromRead(t, cfg)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 60 {
		t.Errorf("fail2ban-client resolved only %d jails", len(names))
	}
	compared := 0
	for _, n := range names {
		g, ok := got[n]
		if !ok {
			t.Errorf("jail %s: fail2ban resolves it, Read does not", n)
			continue
		}
		w := want[n]
		for k, wv := range w {
			compared++
			if gv := g[k]; !reflect.DeepEqual(norm(gv), norm(wv)) {
				t.Errorf("jail %s: %s:\n got %#v\nwant %#v", n, k, gv, wv)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok && k != "port" && k != "protocol" && g[k] != "" {
				t.Errorf("jail %s: %s = %#v, fail2ban has none", n, k, g[k])
			}
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("jail %s: Read resolves it, fail2ban does not", n)
		}
	}
	if w := want["myapp"]; len(asList(w["addfailregex"])) != 3 || len(asList(w["addlogpath"])) != 3 {
		t.Errorf("the test's own jail did not come out as meant: %#v", w)
	}
	t.Logf("%d jails, %d values compared", len(names), compared)
}

func norm(v any) any {
	if l, ok := v.([]any); ok {
		s := make([]string, len(l))
		for i, x := range l {
			s[i] = fmt.Sprint(x)
		}
		return s
	}
	return fmt.Sprint(v)
}
