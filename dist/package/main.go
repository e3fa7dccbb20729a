// Command package builds logjail's Debian package, and an RPM from the
// same description, with nfpm (goreleaser/nfpm) used as a library:
//
//	go run ./dist/package [-version VERSION] OUTDIR
//
// writes OUTDIR/logjail_VERSION_amd64.deb and
// OUTDIR/logjail-VERSION-1.x86_64.rpm. Run it in a checkout of logjail:
// it builds the binaries from there, logjail and its network helper
// logjail-net (static, CGO_ENABLED=0; logjail's version and commit
// stamped with -ldflags -X, since builds here run with
// GOFLAGS=-buildvcs=false) and has logjail write its own man pages and
// shell completions (the hidden `logjail gendocs`), so they describe
// exactly the commands it has.
//
// VERSION defaults to the tag at HEAD (v1.2.0 gives 1.2.0), else
// 0.0.0~gitYYYYMMDDHHMMSS.COMMIT from the commit's time, which sorts
// builds of later commits higher, as an upgrade needs.
//
// The package holds:
//
//	/usr/sbin/logjail                          the static binary
//	/usr/lib/logjail/logjail-net               its network clients (package remote)
//	/etc/logjail/logjail.yaml                  conffile: the embedded default
//	/lib/systemd/system/logjail.{service,timer}
//	/usr/share/man/man8/logjail*.8.gz          logjail(8), logjail-COMMAND(8)
//	/usr/share/bash-completion/completions/logjail
//	/usr/share/zsh/vendor-completions/_logjail
//	/usr/share/doc/logjail/{copyright,changelog.gz,crontab.example}
//	/usr/share/lintian/overrides/logjail       the static binaries are on purpose
//	/var/lib/logjail                           the state, mode 0700
//
// The maintainer scripts (debian/, rpm/ beside this file) enable the timer
// on a fresh install, start it only where systemd runs, flush logjail's
// firewall rules on removal and delete the state on purge.
package main

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"

	"logjail/config"
	"logjail/remote"
)

//go:embed debian rpm
var scripts embed.FS

// maintainer is the Maintainer field and the changelog's signer.
const maintainer = "logjail maintainers <logjail@example.org>"

const description = `ban addresses that fail to log in, from cron or a systemd timer
logjail is fail2ban without the daemon: started every minute, it reads the
log lines written since its last run, counts authentication failures per
address in time windows kept in a state file, brings the firewall
(iptables, ipset or nftables) to exactly the bans that should be active
now, and mails a digest instead of one mail per ban. The same engine
replays old logs, gzip too, into forensic reports.
.
Built-in filters: sshd, vsftpd, proftpd, pure-ftpd, apache-auth,
nginx-http-auth, postfix, dovecot; custom filters are regular expressions.`

func main() {
	version := flag.String("version", "", "package `VERSION` (default: from git)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./dist/package [-version VERSION] OUTDIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	paths, err := build(flag.Arg(0), *version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "package: %v\n", err)
		os.Exit(1)
	}
	for _, p := range paths {
		fmt.Println(p)
	}
}

// build writes the .deb and the .rpm into outDir and returns their paths.
// version "" takes it from git.
func build(outDir, version string) ([]string, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	src, err := gitSource(root)
	if err != nil {
		return nil, err
	}
	if version == "" {
		version = src.version()
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %q: %w", outDir, err)
	}
	work, err := os.MkdirTemp("", "logjail-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	st, err := stage(root, work, version, src)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, format := range []string{"deb", "rpm"} {
		p, err := pack(st, format, outDir)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// moduleRoot returns the directory of logjail's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	data, err := os.ReadFile(mod)
	if mod == "" || mod == os.DevNull || err != nil || !bytes.HasPrefix(data, []byte("module logjail\n")) {
		return "", fmt.Errorf("run in a checkout of logjail (go.mod: %q)", mod)
	}
	return filepath.Dir(mod), nil
}

// source is the commit a package is built from.
type source struct {
	commit string    // full hash
	dirty  bool      // the checkout has uncommitted changes
	tag    string    // a v-tag at the commit, or ""
	time   time.Time // the commit's time: the files' and changelog's
}

// stamp is the commit as the binary reports it: with -dirty when the
// build holds changes the commit does not.
func (s source) stamp() string {
	if s.dirty {
		return s.commit + "-dirty"
	}
	return s.commit
}

func gitSource(root string) (source, error) {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	var s source
	line, err := git("log", "-1", "--format=%H %ct")
	if err != nil {
		return s, fmt.Errorf("git log in %q: %w", root, err)
	}
	var unix int64
	if _, err := fmt.Sscanf(line, "%s %d", &s.commit, &unix); err != nil {
		return s, fmt.Errorf("git log in %q: %q: %w", root, line, err)
	}
	s.time = time.Unix(unix, 0).UTC()
	s.tag, _ = git("describe", "--tags", "--exact-match", "--match", "v[0-9]*")
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return s, fmt.Errorf("git status in %q: %w", root, err)
	}
	s.dirty = status != ""
	return s, nil
}

// version is the tag without its v, else a snapshot version that sorts
// before any release and after the builds of earlier commits.
func (s source) version() string {
	if s.tag != "" {
		return strings.TrimPrefix(s.tag, "v")
	}
	return fmt.Sprintf("0.0.0~git%s.%s", s.time.Format("20060102150405"), s.commit[:12])
}

// staged is everything a package holds, written to disk for nfpm.
type staged struct {
	version  string
	mtime    time.Time
	contents files.Contents
	deb, rpm nfpm.Scripts
}

// stage builds the binaries and writes every other file of the package
// into work.
func stage(root, work, version string, src source) (*staged, error) {
	st := &staged{version: version, mtime: src.time}
	bin := filepath.Join(work, "logjail")
	if err := goBuild(root, bin, ".", fmt.Sprintf("-X main.version=%s -X main.commit=%s", version, src.stamp())); err != nil {
		return nil, err
	}
	// logjail-net has no version of its own to print: logjail and it
	// check that they speak one protocol (package remote).
	netBin := filepath.Join(work, "logjail-net")
	if err := goBuild(root, netBin, "./cmd/logjail-net", ""); err != nil {
		return nil, err
	}

	// The man pages and completions, by the binary itself; without
	// LOGJAIL_CONFIG, which would show as --config's default.
	docs := filepath.Join(work, "docs")
	gen := exec.Command(bin, "gendocs", docs)
	gen.Env = withoutEnv(os.Environ(), "LOGJAIL_CONFIG")
	if out, err := gen.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("logjail gendocs: %w: %s", err, out)
	}

	add := func(dst, srcPath, typ string, mode fs.FileMode, packager string) {
		st.contents = append(st.contents, &files.Content{
			Source: srcPath, Destination: dst, Type: typ, Packager: packager,
			FileInfo: &files.ContentFileInfo{Mode: mode, MTime: src.time, Owner: "root", Group: "root"},
		})
	}
	write := func(name string, data []byte) (string, error) {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		return p, os.WriteFile(p, data, 0o644)
	}
	var errs []error
	file := func(dst, name string, data []byte, typ string, mode fs.FileMode, packager string) {
		p, err := write(name, data)
		if err != nil {
			errs = append(errs, err)
			return
		}
		add(dst, p, typ, mode, packager)
	}

	add("/usr/sbin/logjail", bin, "", 0o755, "")
	add(remote.Installed, netBin, "", 0o755, "")
	file("/etc/logjail/logjail.yaml", "logjail.yaml", config.DefaultYAML(), files.TypeConfig, 0o644, "deb")
	file("/etc/logjail/logjail.yaml", "logjail.yaml", config.DefaultYAML(), files.TypeConfigNoReplace, 0o644, "rpm")

	// The units and the crontab call the binary where a source install
	// puts it (/usr/local/bin); the package has it in /usr/sbin.
	for _, u := range []struct{ name, debDir, rpmDir string }{
		{"dist/logjail.service", "/lib/systemd/system", "/usr/lib/systemd/system"},
		{"dist/logjail.timer", "/lib/systemd/system", "/usr/lib/systemd/system"},
		{"crontab.example", "/usr/share/doc/logjail", "/usr/share/doc/logjail"},
	} {
		data, err := os.ReadFile(filepath.Join(root, u.name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/logjail"), []byte("/usr/sbin/logjail"))
		base := filepath.Base(u.name)
		file(u.debDir+"/"+base, "deb/"+base, data, "", 0o644, "deb")
		file(u.rpmDir+"/"+base, "rpm/"+base, data, "", 0o644, "rpm")
	}

	pages, err := filepath.Glob(filepath.Join(docs, "man8", "*.8"))
	if err != nil || len(pages) == 0 {
		return nil, fmt.Errorf("logjail gendocs wrote no man pages in %q", docs)
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		gz, err := gzipped(data)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(p) + ".gz"
		file("/usr/share/man/man8/"+base, "man8/"+base, gz, "", 0o644, "")
	}
	add("/usr/share/bash-completion/completions/logjail", filepath.Join(docs, "completion/bash/logjail"), "", 0o644, "")
	add("/usr/share/zsh/vendor-completions/_logjail", filepath.Join(docs, "completion/zsh/_logjail"), "", 0o644, "deb")
	add("/usr/share/zsh/site-functions/_logjail", filepath.Join(docs, "completion/zsh/_logjail"), "", 0o644, "rpm")

	copyright, err := copyrightText(root, []binary{{"/usr/sbin/logjail", bin}, {remote.Installed, netBin}}, src.time.Year())
	if err != nil {
		return nil, err
	}
	file("/usr/share/doc/logjail/copyright", "copyright", copyright, "", 0o644, "")
	changelog, err := gzipped(changelogText(version, src))
	if err != nil {
		return nil, err
	}
	file("/usr/share/doc/logjail/changelog.gz", "changelog.gz", changelog, "", 0o644, "deb")
	file("/usr/share/lintian/overrides/logjail", "lintian-overrides", []byte(lintianOverrides), "", 0o644, "deb")

	st.contents = append(st.contents, &files.Content{
		Destination: "/var/lib/logjail", Type: files.TypeDir,
		FileInfo: &files.ContentFileInfo{Mode: 0o700, MTime: src.time, Owner: "root", Group: "root"},
	})
	// rpm -e removes only the directories the package names (dpkg those
	// its files' paths hold): logjail's own.
	for _, d := range []string{"/etc/logjail", "/usr/lib/logjail", "/usr/share/doc/logjail"} {
		st.contents = append(st.contents, &files.Content{
			Destination: d, Type: files.TypeDir, Packager: "rpm",
			FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: src.time, Owner: "root", Group: "root"},
		})
	}

	for _, s := range []struct {
		dst  *string
		name string
	}{
		{&st.deb.PostInstall, "debian/postinst"}, {&st.deb.PreRemove, "debian/prerm"}, {&st.deb.PostRemove, "debian/postrm"},
		{&st.rpm.PostInstall, "rpm/post"}, {&st.rpm.PreRemove, "rpm/preun"},
	} {
		data, err := scripts.ReadFile(s.name)
		if err != nil {
			return nil, err
		}
		p, err := write("scripts/"+s.name, data)
		if err != nil {
			return nil, err
		}
		*s.dst = p
	}
	return st, errors.Join(errs...)
}

// goBuild builds the main package pkg (relative to root) into out, as
// README's From source says: static, without file system paths, without
// symbol tables; ldflags are added to "-s -w". The tag urfave_cli_no_docs
// leaves out urfave/cli's man and markdown writers (and the blackfriday
// they import, whose package init every start would pay); the man pages
// come from internal/clidoc (gendocs below).
func goBuild(root, out, pkg, ldflags string) error {
	build := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-o", out,
		"-ldflags", strings.TrimSpace("-s -w "+ldflags), pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// lintianOverrides explains what lintian flags on purpose.
const lintianOverrides = `# Go builds static binaries (CGO_ENABLED=0) on purpose: they run from cron
# on hosts of any libc, and link nothing at run time.
logjail: statically-linked-binary [usr/sbin/logjail]
logjail: statically-linked-binary [usr/lib/logjail/logjail-net]
# The state holds the bans, log offsets and the digest's outbox (mail
# addresses, log lines): root's alone, as systemd's StateDirectoryMode says.
logjail: non-standard-dir-perm 0700 != 0755 [var/lib/logjail/]
`

// pack writes the package of format (deb, rpm) into outDir.
func pack(st *staged, format, outDir string) (string, error) {
	info := &nfpm.Info{
		Name:          "logjail",
		Arch:          "amd64",
		Platform:      "linux",
		Version:       st.version,
		VersionSchema: "none",
		Section:       "admin",
		Priority:      "optional",
		Maintainer:    maintainer,
		Description:   description,
		MTime:         st.mtime,
		Overridables: nfpm.Overridables{
			Contents:   st.contents,
			Recommends: []string{"iptables"},
			Suggests:   []string{"ipset", "nftables"},
			Umask:      0o022,
		},
	}
	var p nfpm.Packager
	switch format {
	case "deb":
		info.Scripts = st.deb
		p = deb.Default
	case "rpm":
		info.Release = "1"
		info.Scripts = st.rpm
		info.RPM.Group = "System Environment/Daemons"
		p = rpm.DefaultRPM
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", fmt.Errorf("%s: %w", format, err)
	}
	path := filepath.Join(outDir, p.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := p.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("write %q: %w", path, err)
	}
	return path, f.Close()
}

// gzipped compresses data as Debian wants man pages and changelogs: at
// the best level, with no name or time in the header.
func gzipped(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// changelogText is the Debian changelog of a native package: one entry,
// for the commit built.
func changelogText(version string, src source) []byte {
	return []byte(fmt.Sprintf("logjail (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n",
		version, src.stamp(), maintainer, src.time.Format("Mon, 02 Jan 2006 15:04:05 -0700")))
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}
