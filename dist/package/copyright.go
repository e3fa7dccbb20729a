package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// binary is a program the package installs.
type binary struct {
	dst  string // where it is installed: /usr/sbin/logjail
	path string // the file built
}

// copyrightText is /usr/share/doc/logjail/copyright: logjail's notice and,
// for each Go module linked into any of bins (read from the binaries),
// its license and copyright line, read from its LICENSE file in the
// module cache, and the binaries that hold it.
func copyrightText(root string, bins []binary, year int) ([]byte, error) {
	type module struct {
		path, version string
		in            []string // the binaries' file names
	}
	var (
		mods  = map[string]*module{} // by path@version
		keys  []string
		goVer []string
		dsts  []string
	)
	for _, bin := range bins {
		bi, err := buildinfo.ReadFile(bin.path)
		if err != nil {
			return nil, fmt.Errorf("read build info of %q: %w", bin.path, err)
		}
		if !slices.Contains(goVer, bi.GoVersion) {
			goVer = append(goVer, bi.GoVersion)
		}
		dsts = append(dsts, bin.dst)
		name := filepath.Base(bin.dst)
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			key := d.Path + "@" + d.Version
			m := mods[key]
			if m == nil {
				m = &module{path: d.Path, version: d.Version}
				mods[key] = m
				keys = append(keys, key)
			}
			m.in = append(m.in, name)
		}
	}
	slices.Sort(keys)
	dirs, err := moduleDirs(root)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`logjail: fail2ban without the daemon.

Copyright ` + strconv.Itoa(year) + ` the logjail authors.
License: the authors have not chosen a license yet; until they do, no
rights beyond those the law grants are given.

`)
	what := "is a static Go binary"
	if len(bins) > 1 {
		what = "are static Go binaries"
	}
	b.WriteString(wrap(fmt.Sprintf("%s %s (%s). They contain the Go standard library (Copyright The Go Authors; BSD-3-Clause) and these modules, each under the license in its source; after each, the binaries that hold it:",
		strings.Join(dsts, " and "), what, strings.Join(goVer, ", ")), 72))
	for _, key := range keys {
		m := mods[key]
		name, notice := license(dirs[key])
		fmt.Fprintf(&b, "\n  %s %s (%s)\n    License: %s\n", m.path, m.version, strings.Join(m.in, ", "), name)
		if notice != "" {
			fmt.Fprintf(&b, "    %s\n", notice)
		}
	}
	b.WriteString(`
On Debian systems the complete text of the Apache License 2.0 is in
/usr/share/common-licenses/Apache-2.0, that of the Mozilla Public License
2.0 in /usr/share/common-licenses/MPL-2.0.
`)
	return []byte(b.String()), nil
}

// wrap breaks text into lines of at most width characters, at spaces,
// each ending in a newline.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		if n > 0 && n+1+len(w) > width {
			b.WriteString("\n")
			n = 0
		}
		if n > 0 {
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	b.WriteString("\n")
	return b.String()
}

// moduleDirs maps path@version to the module's directory for every module
// of the build.
func moduleDirs(root string) (map[string]string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}}@{{.Version}} {{.Dir}}", "all")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m all: %w", err)
	}
	dirs := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if mod, dir, ok := strings.Cut(l, " "); ok && dir != "" {
			dirs[mod] = dir
		}
	}
	return dirs, nil
}

// copyrightLine is a copyright notice with a year or a sign, not the
// Apache license's template ("Copyright [yyyy] [name of copyright owner]").
var copyrightLine = regexp.MustCompile(`^(?i)copyright\s+(\(c\)|©|[0-9]{4})`)

// license names the licenses of the module in dir by the words of its
// LICENSE file (a file may hold several: "MIT and Apache-2.0") and
// returns the file's first copyright notice; "see its source" when there
// is no such file.
func license(dir string) (name, notice string) {
	var text []byte
	for _, f := range []string{"LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING", "LICENCE"} {
		if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil && dir != "" {
			text = data
			break
		}
	}
	if text == nil {
		return "see its source", ""
	}
	has := func(s string) bool { return bytes.Contains(text, []byte(s)) }
	var names []string
	for _, l := range []struct {
		name string
		ok   bool
	}{
		{"Apache-2.0", has("Apache License") && has("Version 2.0")},
		{"MPL-2.0", has("Mozilla Public License") && has("2.0")},
		{"MIT", has("Permission is hereby granted, free of charge")},
		{"BSD-3-Clause", has("Redistribution and use in source and binary forms") && has("Neither the name")},
		{"BSD-2-Clause", has("Redistribution and use in source and binary forms") && !has("Neither the name")},
		{"ISC", has("Permission to use, copy, modify, and/or distribute") || has("Permission to use, copy, modify, and distribute")},
	} {
		if l.ok {
			names = append(names, l.name)
		}
	}
	name = strings.Join(names, " and ")
	if name == "" {
		name = "see its LICENSE file"
	}
	s := bufio.NewScanner(bytes.NewReader(text))
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); copyrightLine.MatchString(l) {
			return name, l
		}
	}
	return name, ""
}
