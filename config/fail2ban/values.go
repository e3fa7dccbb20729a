package fail2ban

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// SplitWords splits a list written with blanks, commas or new lines
// (ignoreip, port), as fail2ban does.
func SplitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	})
}

// LogPath is one file of a jail's logpath.
type LogPath struct {
	Path string // a file the glob found
	Glob string // as written
	Tail string // "head" (read from the start) or "tail"
}

// LogPaths expands a logpath: one glob a line, each optionally followed by
// head or tail, as fail2ban does. The files found are sorted per glob.
func LogPaths(s string) ([]LogPath, error) {
	var out []LogPath
	for _, l := range splitLines(s) {
		l = strings.TrimSpace(l)
		glob, tail := l, "head"
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			glob, tail = strings.TrimSpace(l[:i]), l[i+1:]
		}
		found, err := filepath.Glob(glob)
		if err != nil {
			return nil, fmt.Errorf("logpath %q: %w", glob, err)
		}
		sort.Strings(found)
		for _, p := range found {
			out = append(out, LogPath{Path: p, Glob: glob, Tail: tail})
		}
	}
	return out, nil
}
