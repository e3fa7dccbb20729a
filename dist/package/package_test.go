package main

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"logjail/config"
	"logjail/internal/testenv"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// built returns the .deb of version 1.0.0, built once for the package's
// tests, and its directory.
func built(t *testing.T) string {
	t.Helper()
	testenv.Tool(t, "go")
	testenv.Tool(t, "git")
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "logjail-package-test-")
		if buildErr == nil {
			_, buildErr = build(buildDir, "1.0.0")
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return filepath.Join(buildDir, "logjail_1.0.0_amd64.deb")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// run runs a command and returns its standard output; a failure ends the
// test with its standard error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = nil // dpkg must not find a terminal to ask questions on
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func TestPackageContents(t *testing.T) {
	dpkgDeb := testenv.Tool(t, "dpkg-deb")
	deb := built(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(deb), "logjail-1.0.0-1.x86_64.rpm")); err != nil {
		t.Errorf("no rpm beside the deb: %v", err)
	}

	// Control fields.
	fields := run(t, dpkgDeb, "--field", deb, "Package", "Version", "Architecture", "Section", "Priority", "Maintainer", "Recommends")
	for _, want := range []string{"Package: logjail\n", "Version: 1.0.0\n", "Architecture: amd64\n", "Section: admin\n",
		"Priority: optional\n", "Maintainer: logjail maintainers <logjail@example.org>\n", "Recommends: iptables\n"} {
		if !strings.Contains(fields, want) {
			t.Errorf("control lacks %q:\n%s", want, fields)
		}
	}
	if d := run(t, dpkgDeb, "--field", deb, "Description"); !strings.HasPrefix(d, "ban addresses that fail to log in") || !strings.Contains(d, "\n .\n") {
		t.Errorf("Description: %q", d)
	}
	if got := run(t, dpkgDeb, "--info", deb, "conffiles"); got != "/etc/logjail/logjail.yaml\n" {
		t.Errorf("conffiles %q", got)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		text := run(t, dpkgDeb, "--info", deb, s)
		if !strings.HasPrefix(text, "#!/bin/sh\n") || !strings.Contains(text, "set -e\n") {
			t.Errorf("%s is not a set -e sh script:\n%s", s, text)
		}
	}

	// Files, with modes and owners.
	list := run(t, dpkgDeb, "--contents", deb)
	for _, want := range []string{
		`-rwxr-xr-x root/root .* ./usr/sbin/logjail$`,
		`-rw-r--r-- root/root .* ./etc/logjail/logjail.yaml$`,
		`-rw-r--r-- root/root .* ./lib/systemd/system/logjail.service$`,
		`-rw-r--r-- root/root .* ./lib/systemd/system/logjail.timer$`,
		`-rw-r--r-- root/root .* ./usr/share/doc/logjail/crontab.example$`,
		`-rw-r--r-- root/root .* ./usr/share/doc/logjail/copyright$`,
		`-rw-r--r-- root/root .* ./usr/share/doc/logjail/changelog.gz$`,
		`-rw-r--r-- root/root .* ./usr/share/man/man8/logjail.8.gz$`,
		`-rw-r--r-- root/root .* ./usr/share/man/man8/logjail-run.8.gz$`,
		`-rw-r--r-- root/root .* ./usr/share/man/man8/logjail-firewall.8.gz$`,
		`-rw-r--r-- root/root .* ./usr/share/bash-completion/completions/logjail$`,
		`-rw-r--r-- root/root .* ./usr/share/zsh/vendor-completions/_logjail$`,
		`-rw-r--r-- root/root .* ./usr/share/lintian/overrides/logjail$`,
		`drwx------ root/root .* ./var/lib/logjail/$`,
	} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(list) {
			t.Errorf("contents lack %s:\n%s", want, list)
		}
	}
	if strings.Contains(list, "gendocs") {
		t.Errorf("the hidden gendocs command has a man page:\n%s", list)
	}

	dir := t.TempDir()
	run(t, dpkgDeb, "--extract", deb, dir)
	bin := filepath.Join(dir, "usr/sbin/logjail")

	// Static: no program interpreter, no shared libraries.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (program header %v)", p.Type)
		}
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := gitSource(root)
	if err != nil {
		t.Fatal(err)
	}
	if head := strings.TrimSpace(run(t, "git", "rev-parse", "HEAD")); src.commit != head {
		t.Errorf("commit %q, git rev-parse HEAD %q", src.commit, head)
	}
	if got, want := run(t, bin, "version"), "logjail 1.0.0 (commit "+src.stamp()+", go"; !strings.HasPrefix(got, want) {
		t.Errorf("logjail version: %q, want it to begin %q", got, want)
	}

	// The conffile is the embedded default, comments and all, with no
	// version in it (a version would make every upgrade ask about it).
	conf, err := os.ReadFile(filepath.Join(dir, "etc/logjail/logjail.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(conf, config.DefaultYAML()) {
		t.Errorf("the conffile is not the embedded default:\n%s", conf)
	}
	// The copyright names the linked modules' licenses.
	copyright, err := os.ReadFile(filepath.Join(dir, "usr/share/doc/logjail/copyright"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"the logjail authors", "github.com/urfave/cli/v2 v", "License: MIT\n    Copyright (c) 2022 urfave/cli maintainers",
		"go.etcd.io/bbolt v", "golang.org/x/sys v", "License: BSD-3-Clause\n    Copyright 2009 The Go Authors."} {
		if !bytes.Contains(copyright, []byte(want)) {
			t.Errorf("copyright lacks %q:\n%s", want, copyright)
		}
	}
	if bytes.Contains(copyright, []byte("nfpm")) {
		t.Errorf("copyright lists nfpm, which the binary does not link:\n%s", copyright)
	}
	// The units and the crontab call the packaged binary.
	for _, name := range []string{"lib/systemd/system/logjail.service", "usr/share/doc/logjail/crontab.example"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("/usr/sbin/logjail run")) || bytes.Contains(data, []byte("/usr/local/bin/logjail")) {
			t.Errorf("%s does not run /usr/sbin/logjail:\n%s", name, data)
		}
	}
}

// TestRPMContents checks the .rpm made from the same description: the
// same files where Fedora wants them, the conffile %config(noreplace),
// the scriptlets. (Installing it needs an RPM system; not done here.)
func TestRPMContents(t *testing.T) {
	rpm := testenv.Tool(t, "rpm")
	path := filepath.Join(filepath.Dir(built(t)), "logjail-1.0.0-1.x86_64.rpm")
	if got := run(t, rpm, "-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}", path); got != "logjail 1.0.0-1 x86_64" {
		t.Errorf("rpm header: %q", got)
	}
	list := run(t, rpm, "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms}\n]", path)
	for _, want := range []string{
		"/etc/logjail/logjail.yaml cn -rw-r--r--",
		"/usr/sbin/logjail  -rwxr-xr-x",
		"/usr/lib/systemd/system/logjail.service  -rw-r--r--",
		"/usr/lib/systemd/system/logjail.timer  -rw-r--r--",
		"/usr/share/man/man8/logjail.8.gz  -rw-r--r--",
		"/usr/share/bash-completion/completions/logjail  -rw-r--r--",
		"/usr/share/zsh/site-functions/_logjail  -rw-r--r--",
		"/usr/share/doc/logjail/crontab.example  -rw-r--r--",
		"/var/lib/logjail  drwx------",
	} {
		if !strings.Contains(list, want+"\n") {
			t.Errorf("rpm lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "lintian") || strings.Contains(list, "vendor-completions") {
		t.Errorf("rpm holds Debian-only files:\n%s", list)
	}
	scripts := run(t, rpm, "-qp", "--scripts", path)
	for _, want := range []string{"postinstall scriptlet", "systemctl enable logjail.timer", "preuninstall scriptlet", "logjail firewall flush"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm scriptlets lack %q:\n%s", want, scripts)
		}
	}
}

// TestReproducible: two builds of one commit are the same bytes (the
// files carry the commit's time, the gzip headers none).
func TestReproducible(t *testing.T) {
	first := built(t)
	dir := t.TempDir()
	if _, err := build(dir, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{filepath.Base(first), "logjail-1.0.0-1.x86_64.rpm"} {
		a, err := os.ReadFile(filepath.Join(filepath.Dir(first), name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("two builds of %s differ", name)
		}
	}
}

// TestLintian: no errors and no warnings but the overridden ones.
func TestLintian(t *testing.T) {
	lintian := testenv.Tool(t, "lintian")
	deb := built(t)
	cmd := exec.Command(lintian, "--pedantic", "--info", "--fail-on", "error,warning", deb)
	out, err := cmd.CombinedOutput()
	t.Logf("lintian:\n%s", out)
	if err != nil {
		t.Fatalf("lintian: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "W:") {
			t.Errorf("lintian: %s", l)
		}
	}
}

// TestPackageInstall installs the package with dpkg, uses it, upgrades,
// removes and purges it, and checks what each step must do. It runs
// every dpkg and logjail command inside a network namespace it creates,
// so that the maintainer scripts' `logjail firewall flush` and the test's
// bans reach that namespace's firewall, never the host's. It puts the
// machine back as it found it: the package purged, however the test ends.
func TestPackageInstall(t *testing.T) {
	testenv.Netns(t, "dpkg", "dpkg-query", "iptables", "iptables-save", "ip6tables-save", "man", "bash", "systemctl")
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		// postinst would start logjail.timer, whose runs act on the
		// host's firewall.
		testenv.Missing(t, "systemd runs on this machine: installing would start logjail.timer on the host's firewall")
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "logjail").Output(); err == nil && strings.Contains(string(out), "installed") {
		testenv.Missing(t, "logjail is installed on this machine (%s); the test would replace it", out)
	}
	for _, p := range []string{"/etc/logjail", "/var/lib/logjail"} {
		if _, err := os.Stat(p); err == nil {
			testenv.Missing(t, "%s exists; the test would delete it", p)
		}
	}
	deb1 := built(t)
	dir2 := t.TempDir()
	if _, err := build(dir2, "1.0.1"); err != nil {
		t.Fatalf("build 1.0.1: %v", err)
	}
	deb2 := filepath.Join(dir2, "logjail_1.0.1_amd64.deb")

	hostBefore := hostRules(t)
	ns := newNS(t)
	in := func(args ...string) string {
		t.Helper()
		return run(t, "ip", append([]string{"netns", "exec", ns}, args...)...)
	}
	// Registered after the namespace, so it runs before its deletion.
	t.Cleanup(func() {
		out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "logjail").Output()
		if len(out) > 0 && !strings.Contains(string(out), "not-installed") {
			if out, err := exec.Command("ip", "netns", "exec", ns, "dpkg", "--purge", "logjail").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge logjail: %v\n%s", err, out)
			}
		}
		if after := hostRules(t); after != hostBefore {
			t.Errorf("the host's firewall changed:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
		}
	})
	const wants = "/etc/systemd/system/timers.target.wants/logjail.timer"

	// Install. Slim container images tell dpkg to leave out man pages and
	// docs (path-exclude in /etc/dpkg/dpkg.cfg.d); ours are let in.
	dpkgI := func(deb string) {
		t.Helper()
		in("dpkg", "--path-include=/usr/share/man/man8/logjail*", "--path-include=/usr/share/doc/logjail/*", "-i", deb)
	}
	dpkgI(deb1)
	if got := run(t, "dpkg-query", "-W", "-f=${Version} ${Status}", "logjail"); got != "1.0.0 install ok installed" {
		t.Fatalf("after dpkg -i: %q", got)
	}
	if _, err := os.Lstat(wants); err != nil {
		t.Errorf("the timer is not enabled on a fresh install: %v", err)
	}
	if fi, err := os.Stat("/var/lib/logjail"); err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
		t.Errorf("/var/lib/logjail: %v %v, want a directory 0700", fi.Mode(), err)
	}
	if out := in("logjail", "config", "check"); !strings.Contains(out, "jails:") {
		t.Errorf("logjail config check printed %q", out)
	}
	for page, want := range map[string]string{"logjail": "/usr/share/man/man8/logjail.8.gz", "logjail-run": "/usr/share/man/man8/logjail-run.8.gz"} {
		if got := strings.TrimSpace(run(t, "man", "-w", page)); got != want {
			t.Errorf("man -w %s: %q, want %q", page, got, want)
		}
	}
	if got := run(t, "bash", "-c", `source /usr/share/bash-completion/completions/logjail
COMP_WORDS=(logjail fi); COMP_CWORD=1; _logjail; echo "${COMPREPLY[*]}"`); strings.TrimSpace(got) != "filter firewall" {
		t.Errorf("bash completion of 'logjail fi': %q", got)
	}

	// A ban by the installed binary, with the installed configuration and
	// state, in the namespace's firewall.
	in("logjail", "ban", "192.0.2.7")
	if rules := in("iptables-save"); !strings.Contains(rules, "192.0.2.7") {
		t.Fatalf("the ban is not in the namespace's firewall:\n%s", rules)
	}

	// The operator edits the conffile; the upgrade keeps the edit without
	// asking (stdin is no terminal) and the ban in state and firewall.
	const edit = "\n# edited by the operator\n"
	conf, err := os.ReadFile("/etc/logjail/logjail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := append(conf, edit...)
	// Renamed into place: tests of other packages running meanwhile may
	// read /etc/logjail/logjail.yaml and must never see half a file.
	if err := os.WriteFile("/etc/logjail/logjail.yaml.edit", edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename("/etc/logjail/logjail.yaml.edit", "/etc/logjail/logjail.yaml"); err != nil {
		t.Fatal(err)
	}
	// The operator also disabled the timer: the upgrade must not enable it.
	run(t, "systemctl", "disable", "logjail.timer")
	if _, err := os.Lstat(wants); err == nil {
		t.Fatalf("systemctl disable left %s", wants)
	}
	dpkgI(deb2)
	if _, err := os.Lstat(wants); err == nil {
		t.Errorf("the upgrade enabled the timer the operator had disabled")
	}
	run(t, "systemctl", "enable", "logjail.timer")
	if got := run(t, "dpkg-query", "-W", "-f=${Version} ${Status}", "logjail"); got != "1.0.1 install ok installed" {
		t.Fatalf("after the upgrade: %q", got)
	}
	if got := in("logjail", "version"); !strings.HasPrefix(got, "logjail 1.0.1 ") {
		t.Errorf("after the upgrade logjail version says %q", got)
	}
	if got, err := os.ReadFile("/etc/logjail/logjail.yaml"); err != nil || !bytes.Equal(got, edited) {
		t.Errorf("the upgrade lost the edited conffile (%v):\n%s", err, got)
	}
	if m, _ := filepath.Glob("/etc/logjail/logjail.yaml.dpkg-*"); len(m) > 0 {
		t.Errorf("the upgrade left %v", m)
	}
	if rules := in("iptables-save"); !strings.Contains(rules, "192.0.2.7") {
		t.Errorf("the upgrade took the ban out of the firewall:\n%s", rules)
	}
	var status struct {
		Bans []struct{ IP string } `json:"bans"`
	}
	if err := json.Unmarshal([]byte(in("logjail", "status", "--format", "json")), &status); err != nil {
		t.Fatal(err)
	}
	if len(status.Bans) != 1 || status.Bans[0].IP != "192.0.2.7" {
		t.Errorf("after the upgrade the state's bans are %+v", status.Bans)
	}

	// Remove: the rules go, the state and the conffile stay.
	in("dpkg", "-r", "logjail")
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		if rules := in(save); strings.Contains(rules, "logjail") {
			t.Errorf("logjail's rules outlived the removal (%s):\n%s", save, rules)
		}
	}
	for _, p := range []string{"/var/lib/logjail/state.db", "/etc/logjail/logjail.yaml"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("dpkg -r removed %s: %v", p, err)
		}
	}
	if _, err := os.Stat("/usr/sbin/logjail"); err == nil {
		t.Errorf("dpkg -r left /usr/sbin/logjail")
	}

	// Purge: nothing is left.
	in("dpkg", "--purge", "logjail")
	for _, p := range []string{"/var/lib/logjail", "/etc/logjail", wants, "/etc/systemd/system/logjail.timer"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("dpkg --purge left %s", p)
		}
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "logjail").Output(); len(out) > 0 && !strings.Contains(string(out), "not-installed") {
		t.Errorf("after the purge dpkg says %q", out)
	}
	// deb-systemd-helper's records of the links and the mask.
	if m, _ := filepath.Glob("/var/lib/systemd/deb-systemd-helper-*/*logjail*"); len(m) > 0 {
		t.Errorf("dpkg --purge left %v", m)
	}

	// A broken configuration does not block the removal: the flush fails,
	// says so in one line and what to look at, and dpkg goes on.
	dpkgI(deb1)
	if err := os.WriteFile("/etc/logjail/logjail.yaml.edit", []byte("firewall: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename("/etc/logjail/logjail.yaml.edit", "/etc/logjail/logjail.yaml"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "dpkg", "--purge", "logjail").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg --purge with a broken configuration: %v\n%s", err, out)
	}
	for _, want := range []string{"logjail.yaml", "logjail: 'logjail firewall flush' failed; logjail's rules may remain (iptables -S; ipset list -n; nft list table inet logjail)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dpkg --purge with a broken configuration does not say %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat("/var/lib/logjail"); err == nil {
		t.Errorf("dpkg --purge left /var/lib/logjail")
	}
}

// hostRules returns the host's iptables and ip6tables rules that name
// logjail, to show the test left them alone.
func hostRules(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		for _, l := range strings.Split(run(t, save), "\n") {
			if strings.Contains(l, "logjail") {
				b.WriteString(l + "\n")
			}
		}
	}
	return b.String()
}

// newNS creates a network namespace lj-pkg-<random>, deleted when the
// test ends.
func newNS(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	ns := "lj-pkg-" + hex.EncodeToString(b[:])
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	return ns
}
