package analyze

import (
	"bytes"
	"net/netip"
	"time"
)

// More byte-slice helpers for the built-in filters, in the manner of
// scan.go: none of them allocates.

// hasPrefixFold reports whether b starts with s, ignoring ASCII case. s must
// be lower case.
func hasPrefixFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// hasPrefixCap reports whether b starts with s, where the first letter may
// be either case: programs write "Incorrect password" and "incorrect
// password" in different versions. s starts with a lower-case letter.
func hasPrefixCap(b []byte, s string) bool {
	if len(b) < len(s) || len(s) == 0 {
		return false
	}
	if b[0] != s[0] && b[0] != s[0]-('a'-'A') {
		return false
	}
	return string(b[1:len(s)]) == s[1:]
}

// skipDigits returns the number of ASCII digits at the start of b.
func skipDigits(b []byte) int {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// indexFrom returns the first index of s in b at or after from, or -1.
func indexFrom(b []byte, s string, from int) int {
	if from > len(b) {
		return -1
	}
	i := index(b[from:], s)
	if i < 0 {
		return -1
	}
	return from + i
}

// trimPID removes a "[digits]" or "(digits)" suffix from a program tag:
// dovecot's own log writes "auth-worker(1234):".
func trimPID(p []byte) []byte {
	n := len(p)
	if n < 3 || (p[n-1] != ']' && p[n-1] != ')') {
		return p
	}
	open := byte('[')
	if p[n-1] == ')' {
		open = '('
	}
	k := bytes.LastIndexByte(p, open)
	if k <= 0 || !isDigits(p[k+1:n-1]) {
		return p
	}
	return p[:k]
}

// appendN appends f to dst n times: rsyslog folds n identical messages
// into one line, and each is a failure.
func appendN(dst []Failure, f Failure, n int) []Failure {
	for i := 0; i < n; i++ {
		dst = append(dst, f)
	}
	return dst
}

// hostVote collects the client that each possible reading of a line
// names. A message that embeds attacker-chosen text (a user name) on both
// sides of the address, or in a field that the address's markers can be
// forged in, may be read in more than one way; logjail trusts it only when
// every reading names the same client. The program's own reading is always
// among them, so a forged reading can make the line count for nobody, never
// for a third party.
type hostVote struct {
	raw      []byte     // the client as written in the first reading
	addr     netip.Addr // raw parsed, when it is an address
	n        int        // readings seen
	conflict bool       // readings disagree
	user     []byte     // the user of the first reading
}

// add records a reading naming raw (an address if addr is valid, else a
// host name) and user.
func (v *hostVote) add(raw []byte, addr netip.Addr, user []byte) {
	v.n++
	if v.n == 1 {
		v.raw, v.addr, v.user = raw, addr, user
		return
	}
	switch {
	case v.addr.IsValid() && addr.IsValid():
		v.conflict = v.conflict || v.addr != addr
	default:
		v.conflict = v.conflict || v.addr.IsValid() != addr.IsValid() || !bytes.Equal(v.raw, raw)
	}
	if !bytes.Equal(v.user, user) {
		v.user = nil // the user is uncertain; the client is not
	}
}

// voteState is what the readings of a line say about its client.
type voteState uint8

const (
	voteNone  voteState = iota // no reading fits
	voteOK                     // every reading names the same client
	voteSplit                  // readings name different clients: trust none
)

func (v *hostVote) state() voteState {
	switch {
	case v.n == 0:
		return voteNone
	case v.conflict:
		return voteSplit
	}
	return voteOK
}

// pamAuthFailure parses the rest of pam_unix's "authentication failure; "
// message: "logname=L uid=U euid=E tty=T ruser=R rhost=H" and, when the
// user is known, "  user=N" (Linux-PAM writes "rhost=%s %s%s" with " user="
// and the name). The tty must be one of ttys. It returns the host as
// written and the user.
//
// The remote user and the user are chosen by the client and stand on both
// sides of the host, and either may contain " rhost=". Programs that set
// the remote user set it to the user (vsftpd, dovecot), others leave it
// empty; so every " rhost=" is tried as the real one, a reading is kept
// when its remote user is empty or equals its user, and the line counts
// only when all kept readings name the same host (else it is ambiguous:
// voteSplit).
//
// Linux-PAM before 0.99 wrote no " user=": "ruser=R rhost=H". Current
// pam_unix writes the user whenever there is one, so a reading with a
// remote user but no user is kept only when oldPAM is set (the caller
// knows the line is old: the "(pam_unix)" tag) or when it is the only
// reading there is, the text after "ruser=" holding one " rhost=". Keeping
// it in other lines would let a current client named "x rhost=A" make its
// own failures ambiguous. The price: on a system with a PAM from before
// 0.99 a client whose remote user holds " rhost=A  user=" can make its
// line read as a current one naming A; such systems are twenty years out
// of support.
func pamAuthFailure(msg []byte, oldPAM bool, ttys ...string) (host, user []byte, st voteState) {
	var ok bool
	if msg, ok = trimPrefix(msg, "logname="); !ok {
		return nil, nil, voteNone
	}
	for _, key := range [...]string{" uid=", " euid=", " tty="} {
		sp := bytes.IndexByte(msg, ' ')
		if sp < 0 || !hasPrefix(msg[sp:], key) {
			return nil, nil, voteNone
		}
		msg = msg[sp+len(key):]
	}
	sp := bytes.IndexByte(msg, ' ')
	if sp < 0 || !hasPrefix(msg[sp:], " ruser=") {
		return nil, nil, voteNone
	}
	tty := msg[:sp]
	ok = false
	for _, t := range ttys {
		if string(tty) == t {
			ok = true
		}
	}
	if !ok {
		return nil, nil, voteNone
	}
	s := msg[sp+len(" ruser="):]
	var v hostVote
	for i := 0; ; {
		k := indexFrom(s, " rhost=", i)
		if k < 0 {
			break
		}
		i = k + 1
		ruser := s[:k]
		after := s[k+len(" rhost="):]
		h, tail := after, after[len(after):]
		if sp := bytes.IndexByte(after, ' '); sp >= 0 {
			h, tail = after[:sp], after[sp:]
		}
		var u []byte
		switch {
		case len(tail) == 0 || string(tail) == " ":
			if len(ruser) > 0 && !oldPAM && index(s, " rhost=") != k {
				continue
			}
			u = ruser
		case hasPrefix(tail, "  user="):
			u = tail[len("  user="):]
			if len(ruser) > 0 && !bytes.Equal(ruser, u) {
				continue
			}
		default:
			continue
		}
		a, isAddr := ParseHostPort(h)
		if !isAddr && !IsHostname(h) {
			continue
		}
		v.add(h, a, u)
	}
	return v.raw, v.user, v.state()
}

// newFailure builds the failure of line num for the client written as raw:
// an address (with or without port) or, failing that, a host name. It
// returns false when raw is neither.
func newFailure(num int64, t time.Time, raw, user []byte, rule string) (Failure, bool) {
	a, host, ok := hostOf(raw)
	if !ok {
		return Failure{}, false
	}
	f := Failure{Line: num, Time: t, Addr: a, Host: host, Rule: rule}
	if len(user) > 0 {
		f.User = userString(user)
	}
	return f, true
}

// pamFailure counts pam_unix's "authentication failure; ..." message msg
// of syslog record h when its tty is one of ttys (see pamAuthFailure for
// oldPAM).
func pamFailure(dst []Failure, num int64, h *Header, msg []byte, rule string, oldPAM bool, ttys ...string) ([]Failure, Outcome) {
	msg, ok := trimPrefix(msg, "authentication failure; ")
	if !ok {
		return dst, Missed
	}
	host, user, st := pamAuthFailure(msg, oldPAM, ttys...)
	switch st {
	case voteNone:
		return dst, Missed
	case voteSplit:
		return dst, Ambiguous
	}
	f, ok := newFailure(num, h.Time, host, user, rule)
	if !ok {
		return dst, Missed
	}
	return appendN(dst, f, h.Repeat), Matched
}

// wordAt reports whether b starts with s and s ends a word there (the
// regexp \b): the byte after it, if any, is no word character.
func wordAt(b []byte, s string) bool {
	return hasPrefix(b, s) && (len(b) == len(s) || !isWordChar(b[len(s)]) || !isWordChar(s[len(s)-1]))
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
