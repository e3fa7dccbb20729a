package main

import (
	"bytes"
	"crypto/rand"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"maps"
	"mime"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
		`-rwxr-xr-x root/root .* ./usr/lib/logjail/logjail-net$`,
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
	netBin := filepath.Join(dir, "usr/lib/logjail/logjail-net")

	// Static: no program interpreter, no shared libraries.
	for _, b := range []string{bin, netBin} {
		f, err := elf.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked (program header %v)", b, p.Type)
			}
		}
		f.Close()
	}
	// logjail-net is the helper program, built from cmd/logjail-net.
	if bi, err := buildinfo.ReadFile(netBin); err != nil || bi.Path != "logjail/cmd/logjail-net" {
		t.Errorf("%s is not logjail-net: build info %v, %v", netBin, bi, err)
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
		t.Errorf("copyright lists nfpm, which neither binary links:\n%s", copyright)
	}
	checkCopyrightModules(t, copyright, map[string]string{"logjail": bin, "logjail-net": netBin})
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

// checkCopyrightModules checks that the copyright lists each module of
// the binaries (by name, as the copyright calls them) once, with the
// binaries that hold it.
func checkCopyrightModules(t *testing.T, copyright []byte, bins map[string]string) {
	t.Helper()
	want := map[string][]string{} // path version: binaries
	for _, name := range slices.Sorted(maps.Keys(bins)) {
		bi, err := buildinfo.ReadFile(bins[name])
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			want[d.Path+" "+d.Version] = append(want[d.Path+" "+d.Version], name)
		}
	}
	got := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^  (\S+ \S+) \(([^)]*)\)$`).FindAllSubmatch(copyright, -1) {
		mod := string(m[1])
		if _, dup := got[mod]; dup {
			t.Errorf("copyright lists %s twice", mod)
		}
		got[mod] = strings.Split(string(m[2]), ", ")
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("copyright lists the modules\n%v\nthe binaries hold\n%v\n%s", got, want, copyright)
	}
	// The split's point: the clients' libraries are in logjail-net alone.
	for _, mod := range []string{"github.com/jackc/pgx/v5", "github.com/wneessen/go-mail"} {
		found := false
		for m, in := range got {
			if strings.HasPrefix(m, mod+" ") {
				found = true
				if !slices.Equal(in, []string{"logjail-net"}) {
					t.Errorf("copyright: %s in %v, want logjail-net alone", m, in)
				}
			}
		}
		if !found {
			t.Errorf("copyright lacks %s", mod)
		}
	}
}

// TestRPMContents checks the .rpm made from the same description: the
// same files where Fedora wants them, the conffile %config(noreplace),
// the scriptlets, and that rpm -e takes all it put. (Installing it with
// its scriptlets needs an RPM system; not done here.)
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
		"/usr/lib/logjail/logjail-net  -rwxr-xr-x",
		"/usr/lib/systemd/system/logjail.service  -rw-r--r--",
		"/usr/lib/systemd/system/logjail.timer  -rw-r--r--",
		"/usr/share/man/man8/logjail.8.gz  -rw-r--r--",
		"/usr/share/bash-completion/completions/logjail  -rw-r--r--",
		"/usr/share/zsh/site-functions/_logjail  -rw-r--r--",
		"/usr/share/doc/logjail/crontab.example  -rw-r--r--",
		"/var/lib/logjail  drwx------",
		"/etc/logjail  drwxr-xr-x",
		"/usr/lib/logjail  drwxr-xr-x",
		"/usr/share/doc/logjail  drwxr-xr-x",
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

	// Installed into an empty root of the test (without the scriptlets,
	// which need a Fedora) and erased, it leaves nothing behind: it owns
	// its directories.
	root := t.TempDir()
	run(t, rpm, "--root", root, "--initdb")
	run(t, rpm, "--root", root, "-i", "--nodeps", "--noscripts", path)
	if _, err := os.Stat(filepath.Join(root, "usr/lib/logjail/logjail-net")); err != nil {
		t.Errorf("rpm -i: %v", err)
	}
	run(t, rpm, "--root", root, "-e", "--noscripts", "logjail")
	for _, d := range []string{"etc", "usr/lib", "usr/sbin", "usr/share/doc", "var/lib"} {
		if m, _ := filepath.Glob(filepath.Join(root, d, "*logjail*")); len(m) > 0 {
			t.Errorf("rpm -e left %v", m)
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

// TestPackageInstall installs the package with dpkg, uses it (the digest
// too, which goes through the installed logjail-net), upgrades, removes
// and purges it, and checks what each step must do. It runs
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
	if _, err := os.Lstat("/usr/sbin/logjail-net"); err == nil {
		// remote.Path would take it before the package's.
		testenv.Missing(t, "/usr/sbin/logjail-net exists; the installed logjail would run it rather than the package's")
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

	checkInstalledDigest(t, in)

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
	for _, p := range []string{"/usr/sbin/logjail", "/usr/lib/logjail/logjail-net", "/usr/lib/logjail"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("dpkg -r left %s", p)
		}
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

// checkInstalledDigest shows that the installed /usr/sbin/logjail finds
// the installed /usr/lib/logjail/logjail-net and has it deliver the
// digest: `logjail digest` hands the mail to a sendmail of the test that
// keeps the message, its arguments and the program that ran it. The
// configuration and state are the test's own (no firewall), so the
// installed ones stay as the package left them. in runs a command in the
// test's namespace.
func checkInstalledDigest(t *testing.T, in func(args ...string) string) {
	t.Helper()
	dir := t.TempDir()
	sendmail := filepath.Join(dir, "sendmail")
	script := `#!/bin/sh
# The sendmail of logjail's TestPackageInstall: it keeps what it is given.
readlink /proc/$PPID/exe >` + dir + `/parent
printf '%s
' "$@" >` + dir + `/args
cat >` + dir + `/message
`
	if err := os.WriteFile(sendmail, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "logjail.yaml")
	if err := os.WriteFile(cfg, []byte(`state: `+dir+`/state.db
firewall: {backend: none}
digest:
  to: [ops@example.com]
  from: logjail@example.com
  sendmail: `+sendmail+`
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without LOGJAIL_NET, which would name another logjail-net.
	logjail := []string{"env", "-u", "LOGJAIL_NET", "/usr/sbin/logjail", "--config", cfg}
	in(append(logjail, "ban", "192.0.2.8")...)
	if got, want := in(append(logjail, "digest")...), "Digest of 1 event sent to sendmail "+sendmail+".\n"; got != want {
		t.Errorf("logjail digest printed %q, want %q", got, want)
	}

	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the sendmail did not run: %v", err)
		}
		return string(data)
	}
	if got := read("parent"); got != "/usr/lib/logjail/logjail-net\n" {
		t.Errorf("the sendmail was run by %q, want /usr/lib/logjail/logjail-net", got)
	}
	if got := read("args"); got != "-i\n-f\nlogjail@example.com\n--\nops@example.com\n" {
		t.Errorf("the sendmail's arguments: %q", got)
	}
	raw := read("message")
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("the sendmail got no mail message: %v\n%s", err, raw)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if want := "logjail on " + host + ": 1 new ban, 0 unbans, 0 failures"; err != nil || subject != want {
		t.Errorf("Subject %q (%v), want %q", subject, err, want)
	}
	if v := msg.Header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version %q", v)
	}
	if ct, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type")); err != nil || ct != "multipart/alternative" {
		t.Errorf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	if !strings.Contains(raw, "192.0.2.8") {
		t.Errorf("the digest does not name the ban:\n%s", raw)
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
