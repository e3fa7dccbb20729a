package analyze

import "bytes"

// Byte-slice helpers that take string literals without allocating: the
// compiler turns string(b[i:j]) == s into a plain comparison.

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// index returns the first index of s in b, or -1.
func index(b []byte, s string) int {
	if len(s) == 0 {
		return 0
	}
	for i := 0; i+len(s) <= len(b); {
		j := bytes.IndexByte(b[i:len(b)-len(s)+1], s[0])
		if j < 0 {
			return -1
		}
		i += j
		if string(b[i:i+len(s)]) == s {
			return i
		}
		i++
	}
	return -1
}

// lastIndex returns the last index of s in b, or -1.
func lastIndex(b []byte, s string) int {
	if len(s) == 0 {
		return len(b) // as bytes.LastIndex; the loop would read s[0]
	}
	for i := len(b) - len(s); i >= 0; i-- {
		if b[i] == s[0] && string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// trimPrefix removes s from the start of b if it is there.
func trimPrefix(b []byte, s string) ([]byte, bool) {
	if hasPrefix(b, s) {
		return b[len(s):], true
	}
	return b, false
}

// trimSuffix removes s from the end of b if it is there.
func trimSuffix(b []byte, s string) ([]byte, bool) {
	if hasSuffix(b, s) {
		return b[:len(b)-len(s)], true
	}
	return b, false
}

// lastWord splits b at its last space: b = rest + " " + word.
func lastWord(b []byte) (rest, word []byte) {
	i := bytes.LastIndexByte(b, ' ')
	if i < 0 {
		return nil, b
	}
	return b[:i], b[i+1:]
}

// firstWord splits b at its first space: b = word + " " + rest.
func firstWord(b []byte) (word, rest []byte) {
	// Words are short: a plain loop beats IndexByte's vector setup.
	for i, c := range b {
		if c == ' ' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// spaceIndex is bytes.IndexByte(b, ' ') for the short fields of a header.
func spaceIndex(b []byte) int {
	for i, c := range b {
		if c == ' ' {
			return i
		}
	}
	return -1
}

// trimSpaceRight drops trailing spaces and tabs.
func trimSpaceRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// isDigits reports whether b is one or more ASCII digits.
func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// userString turns a user name from a log into a string, bounded in length
// so that a crafted name cannot grow reports without limit.
func userString(b []byte) string {
	const maxUser = 256
	if len(b) > maxUser {
		b = b[:maxUser]
	}
	return string(b)
}

// interner hands out one string per distinct user name, so that a flood of
// failures for "root" allocates nothing after the first.
type interner struct {
	m     map[string]string
	lastB []byte
	last  string
}

const internMax = 8192

func (in *interner) get(b []byte) string {
	if len(b) > 256 {
		b = b[:256]
	}
	if string(b) == string(in.lastB) && in.lastB != nil {
		return in.last
	}
	in.lastB = append(in.lastB[:0], b...)
	if s, ok := in.m[string(b)]; ok {
		in.last = s
		return s
	}
	if in.m == nil || len(in.m) >= internMax {
		in.m = make(map[string]string, 64)
	}
	s := string(b)
	in.m[s] = s
	in.last = s
	return s
}
