package fail2ban

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"logjail/config"
)

// refusedJails converts dir and returns the jails whose filters logjail
// refuses; any other problem fails the test.
func refusedJails(t *testing.T, dir string) []string {
	cfg, probs := Read(dir)
	if len(probs) > 0 {
		t.Fatalf("read: %v", probs)
	}
	_, probs = Convert(cfg)
	seen := map[string]bool{}
	var names []string
	jailRE := regexp.MustCompile(`^jail (\S+): filter \S+: (?:failregex|prefregex|ignoreregex) \d+: .* needs a backtracking engine`)
	for _, p := range probs {
		m := jailRE.FindStringSubmatch(p.Msg)
		if m == nil || p.File == "" || p.Line == 0 {
			t.Errorf("unexpected problem: %v", p)
			continue
		}
		if !strings.Contains(p.Msg, "filter.d/") || !strings.Contains(p.Msg, "disable the jail") {
			t.Errorf("problem does not say the way out: %v", p)
		}
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

// journalSupported reports whether logjail's configuration knows the
// journal: key (built on another branch).
func journalSupported() bool {
	_, err := config.Parse(strings.NewReader("jails:\n  sshd:\n    journal: {}\n"), "probe")
	return err == nil
}

// TestConvert imports Debian's stock configuration with every jail
// enabled and the overrides of read_test.go: every refusal is a filter
// construct RE2 cannot run, named with file, line and the way out; with
// those jails disabled the import passes logjail's config check, and each
// jail carries fail2ban's resolved values.
func TestConvert(t *testing.T) {
	dir := copyStock(t)
	testOverrides(t, dir)
	if !journalSupported() {
		// Checked separately below; this configuration must parse here.
		os.Remove(filepath.Join(dir, "jail.d/20-journal.local"))
	}
	refused := refusedJails(t, dir)
	if len(refused) == 0 {
		t.Fatal("no filter refused: the stock filters with lookarounds should be")
	}
	var off strings.Builder
	for _, n := range refused {
		off.WriteString("[" + n + "]\nenabled = false\n")
	}
	write(t, dir, map[string]string{"jail.d/99-refused.local": off.String()})
	cfg, probs := Read(dir)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	imp, probs := Convert(cfg)
	if len(probs) > 0 {
		t.Fatalf("convert: %v", probs)
	}
	lc, err := config.Parse(bytes.NewReader(imp.YAML), "imported.yaml")
	if err != nil {
		t.Fatalf("config check rejects the import: %v\n%s", err, imp.YAML)
	}
	byName := map[string]*Jail{}
	for _, j := range cfg.Jails {
		byName[j.Name] = j
	}
	n := 0
	for _, j := range cfg.Jails {
		if !j.Enabled || j.Name == "recidive" {
			continue
		}
		n++
		lj := lc.Jail(j.Name)
		if lj == nil {
			t.Errorf("jail %s: not imported", j.Name)
			continue
		}
		mr, _ := j.Get("maxretry")
		if want := strings.TrimSpace(mr); want != "" && itoa(lj.MaxRetry) != want {
			t.Errorf("jail %s: maxretry %d, fail2ban %s", j.Name, lj.MaxRetry, want)
		}
		ft, _ := j.Get("findtime")
		if d, _, _ := Duration(ft); lj.FindTime != d {
			t.Errorf("jail %s: findtime %v, fail2ban %q", j.Name, lj.FindTime, ft)
		}
		bt, _ := j.Get("bantime")
		if d, perm, _ := Duration(bt); lj.Permanent != perm || !perm && lj.BanTime != d {
			t.Errorf("jail %s: bantime %v (permanent %v), fail2ban %q", j.Name, lj.BanTime, lj.Permanent, bt)
		}
		if lj.Fail2ban == nil && lj.FailRegex == nil && (j.Filter == nil || lj.Filter.Name != builtinName(j)) {
			t.Errorf("jail %s: filter %s, fail2ban's %s", j.Name, lj.Filter.Name, j.FilterName)
		}
		if !strings.Contains(string(imp.YAML), "# fail2ban jail "+j.Name+": enabled ") {
			t.Errorf("jail %s: no comment saying where its values came from", j.Name)
		}
	}
	// The overrides.
	if s := lc.Jail("sshd"); s.Filter.Name != "sshd" || s.Mode != "aggressive" || !s.Permanent || s.MaxRetry != 3 {
		t.Errorf("sshd: filter %s mode %s permanent %v maxretry %d", s.Filter.Name, s.Mode, s.Permanent, s.MaxRetry)
	}
	if p := lc.Jail("postfix"); p.Filter.Name != "postfix" {
		t.Errorf("postfix[mode=auth]: filter %s, want the built-in", p.Filter.Name)
	}
	if p := lc.Jail("postfix-sasl"); p == nil {
		t.Errorf("postfix-sasl missing")
	}
	if d := lc.Jail("dovecot"); !d.AllPorts() || d.Protocol != "udp" {
		t.Errorf("dovecot: port 0:65535 must be all (%v), protocol udp (%s)", d.Ports, d.Protocol)
	}
	if m := lc.Jail("myapp"); m.Fail2ban == nil || len(m.FailRegex) != 3 || len(m.LogPath) != 2 || m.MaxRetry != 2 || m.FindTime != time.Hour {
		t.Errorf("myapp: %+v", m)
	} else if !strings.Contains(m.FailRegex[0], "hello there: login failed for admin from <HOST>") {
		t.Errorf("myapp: [Init] overridden by filter options not applied: %q", m.FailRegex[0])
	}
	if !strings.Contains(string(imp.YAML), "bantime_increment") {
		t.Errorf("recidive did not become bantime_increment")
	}
	if imp.Builtin == 0 || imp.Imported == 0 {
		t.Errorf("counts: %d built-in, %d imported", imp.Builtin, imp.Imported)
	}
	t.Logf("%d jails imported: %d built-in filters, %d fail2ban-style; %d refused: %s", n, imp.Builtin, imp.Imported, len(refused), strings.Join(refused, " "))
}

func builtinName(j *Jail) string {
	b, _ := builtinFor(j.FilterName, j.FilterOpts["mode"])
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestConvertJournal: backend = systemd with journalmatch becomes the
// jail's journal: key with journalctl's terms.
func TestConvertJournal(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"jail.conf": "[DEFAULT]\nbanaction = iptables-multiport\naction = %(banaction)s[port=\"%(port)s\"]\nport = 0:65535\n" +
			"[sshd]\nenabled = true\nbackend = systemd\nfilter = sshd\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd\n",
		"filter.d/sshd.conf":               "[Definition]\nfailregex = ^Failed password for \\S+ from <HOST>\n",
		"action.d/iptables-multiport.conf": "[Definition]\nactionban = true\n",
	})
	cfg, probs := Read(dir)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	imp, probs := Convert(cfg)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if !strings.Contains(string(imp.YAML), "journal:\n            match: [_SYSTEMD_UNIT=ssh.service, +, _COMM=sshd]") {
		t.Errorf("no journal match:\n%s", imp.YAML)
	}
	if strings.Contains(string(imp.YAML), "logpath") {
		t.Errorf("a journal jail got a logpath:\n%s", imp.YAML)
	}
	if journalSupported() {
		if _, err := config.Parse(bytes.NewReader(imp.YAML), "imported.yaml"); err != nil {
			t.Errorf("config check: %v", err)
		}
	}
}

// TestReadProblems: every problem of a broken configuration at once, each
// with file and line.
func TestReadProblems(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"jail.conf": "[DEFAULT]\nmaxretry = 3\nthis line is wrong\n[a]\nenabled = maybe\n[b]\nenabled = true\nfilter = nosuch\nlogpath = /x\n" +
			"[c]\nenabled = true\nfilter = f\nlogpath = /x\nbantime = %(nosuch)s\n",
		"filter.d/f.conf": "[Definition]\nfailregex = from <HOST>\n",
	})
	_, probs := Read(dir)
	containsAll(t, Problems(probs).Error(),
		"jail.conf:3: not a section, option or continuation",
		"jail.conf:5: jail a: enabled = \"maybe\" is not a boolean",
		"jail.conf:8: filter \"nosuch\": no filter.d/nosuch.conf",
		"jail.conf:14: option bantime: %(nosuch)s names no option")
}

// containsAll fails t for each of wants that text lacks.
func containsAll(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

// TestImportDir: the counts of a good import and a configuration that
// config check accepts; with problems in reading and in converting, all
// of them at once and no import.
func TestImportDir(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"jail.conf": "[DEFAULT]\nbantime = 10m\n[web]\nenabled = true\nfilter = web\nlogpath = /var/log/web.log\n" +
			"[off]\nenabled = false\nfilter = web\nlogpath = /var/log/web.log\n",
		"filter.d/web.conf": "[Definition]\nfailregex = ^login failed from <HOST>$\n",
	})
	imp, err := ImportDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Enabled != 1 || imp.Jails != 2 || imp.Imported != 1 || imp.Builtin != 0 {
		t.Errorf("counts: %d enabled of %d, %d imported, %d built-in; want 1 of 2, 1, 0", imp.Enabled, imp.Jails, imp.Imported, imp.Builtin)
	}
	if _, err := config.Parse(bytes.NewReader(imp.YAML), "import"); err != nil {
		t.Errorf("config check: %v", err)
	}

	write(t, dir, map[string]string{
		"jail.local":        "[off]\nenabled = maybe\n",
		"filter.d/web.conf": "[Definition]\nfailregex = ^login failed (?!for root) from <HOST>$\n",
	})
	imp, err = ImportDir(dir)
	var probs Problems
	if imp != nil || !errors.As(err, &probs) {
		t.Fatalf("ImportDir = %v, %v; want no import and Problems", imp, err)
	}
	msg := err.Error()
	containsAll(t, msg, "jail.local:2: jail off: enabled = \"maybe\"", "filter.d/web.conf:2: jail web: filter web: failregex")
	if n := strings.Count(msg, "\n") + 1; n != len(probs) {
		t.Errorf("%d lines for %d problems", n, len(probs))
	}
}
