package analyze

import (
	"bytes"
	"time"
)

// The proftpd filter counts what fail2ban 1.0's proftpd filter counts. ProFTPD
// prefixes every message of a session with the server and the client:
//
//	syslog:    proftpd[PID]: FQDN (NAME[ADDR]) - MESSAGE
//	SystemLog: 2026-11-24 10:00:00,123 HOST proftpd[PID] FQDN (NAME[ADDR]): MESSAGE
//
// NAME is the client's reverse DNS name (or its address); ADDR its address.
// The address is taken from that prefix, which ProFTPD writes before the
// message, so the user name inside the message cannot move it. ProFTPD
// replaces every byte of a DNS answer but letters, digits, '.', '-' and ':'
// by '_', so NAME cannot forge the bracket; NAME holding anything else is
// no ProFTPD line.
//
// Messages that count: "USER U (Login failed): REASON" and "USER U: REASON"
// for the failure reasons ProFTPD gives (no such user found, incorrect
// password, ...), "SECURITY VIOLATION: Root login attempted", and "Maximum
// login attempts (N) exceeded".
//
// Deliberate differences from fail2ban 1.0.2: rsyslog's "message repeated N
// times" counts N failures; NAME must be made of the bytes ProFTPD lets
// through.

// proftpdFilter returns the built-in filter; builtins calls it at the first use.
func proftpdFilter() *Filter {
	return &Filter{
		Name:        "proftpd",
		Rules:       []string{"user", "root-login", "max-attempts"},
		Sample:      "Nov 24 10:00:00 ftp proftpd[4242]: ftp.example.com (192.0.2.7[192.0.2.7]) - USER admin (Login failed): Incorrect password",
		Description: "ProFTPD: failed logins through syslog or its SystemLog file",
		New:         func(string) Matcher { return &proftpdMatcher{} },
	}
}

type proftpdMatcher struct{ h Header }

var rootUser = []byte("root")

func (m *proftpdMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	h := &m.h
	var (
		t      time.Time
		repeat = 1
		msg    []byte
	)
	if tp.Syslog(line, h) {
		if string(h.Prog) != "proftpd" {
			return dst, Missed
		}
		t, repeat, msg = h.Time, h.Repeat, h.Msg
	} else {
		// SystemLog: "TIME HOST proftpd[PID] FQDN (NAME[ADDR]): MESSAGE".
		var n int
		var ok bool
		if t, n, ok = tp.Parse(line); !ok || n >= len(line) || line[n] != ' ' {
			return dst, Missed
		}
		_, rest := firstWord(line[n+1:])
		if rest, ok = trimPrefix(rest, "proftpd["); !ok {
			return dst, Missed
		}
		d := skipDigits(rest)
		if d == 0 || !hasPrefix(rest[d:], "] ") {
			return dst, Missed
		}
		msg = rest[d+2:]
	}
	addr, content, ok := proftpdClient(msg)
	if !ok {
		return dst, Missed
	}
	var rule string
	var user []byte
	switch {
	case hasPrefix(content, "USER "):
		if user, ok = proftpdUserFailure(content[len("USER "):]); !ok {
			return dst, Missed
		}
		rule = "user"
	case hasPrefix(content, "SECURITY VIOLATION: "):
		rest := content[len("SECURITY VIOLATION: "):]
		k := index(rest, " login attempted")
		if k <= 0 {
			return dst, Missed
		}
		user, rule = rest[:k], "root-login"
		if len(user) == 4 && hasPrefixFold(user, "root") {
			user = rootUser // "Root login attempted"
		}
	case hasPrefix(content, "Maximum login attempts ("):
		rest := content[len("Maximum login attempts ("):]
		d := skipDigits(rest)
		if d == 0 || !hasPrefix(rest[d:], ") exceeded") {
			return dst, Missed
		}
		rule = "max-attempts"
	default:
		return dst, Missed
	}
	f, ok := newFailure(num, t, addr, user, rule)
	if !ok {
		return dst, Missed
	}
	return appendN(dst, f, repeat), Matched
}

// proftpdClient splits "FQDN (NAME[ADDR]) - MESSAGE" (or "...): MESSAGE")
// into the address and the message.
func proftpdClient(msg []byte) (addr, content []byte, ok bool) {
	k := index(msg, " (")
	if k <= 0 {
		return nil, nil, false
	}
	rest := msg[k+2:]
	ob := bytes.IndexByte(rest, '[')
	if ob <= 0 {
		return nil, nil, false
	}
	for _, c := range rest[:ob] {
		if !isWordChar(c) && c != '.' && c != '-' && c != ':' {
			return nil, nil, false
		}
	}
	rest = rest[ob+1:]
	cb := bytes.IndexByte(rest, ']')
	if cb <= 0 {
		return nil, nil, false
	}
	addr = rest[:cb]
	if _, ok := ParseAddr(addr); !ok {
		return nil, nil, false
	}
	rest = rest[cb+1:]
	if content, ok = trimPrefix(rest, ") - "); !ok {
		content, ok = trimPrefix(rest, "): ")
	}
	return addr, content, ok
}

// proftpdReasons are the failure reasons of "USER U: REASON" and "USER U
// (Login failed): REASON", first letter in either case.
var proftpdReasons = [...]string{
	"no such user found",
	"incorrect password",
	"password expired",
	"account disabled",
	"user not authorized for login",
	"user in ",
	"invalid shell: '",
	"limit access denies login",
	"limit configuration denies login",
	"not a UserAlias",
	"maximum login length exceeded",
}

// proftpdUserFailure reads "U (Login failed): REASON" or "U: REASON" and
// returns U when REASON is a failure. U is the client's choice; the first
// ": " followed by a failure reason ends it.
func proftpdUserFailure(b []byte) ([]byte, bool) {
	for i := 0; ; {
		k := indexFrom(b, ": ", i)
		if k < 0 {
			return nil, false
		}
		i = k + 1
		if !proftpdReason(b[k+2:]) {
			continue
		}
		u, _ := trimSuffix(b[:k], " (Login failed)")
		return u, true
	}
}

func proftpdReason(r []byte) bool {
	for _, s := range proftpdReasons {
		if !hasPrefixCap(r, s) {
			continue
		}
		rest := r[len(s):]
		switch s {
		case "user in ":
			return len(rest) > 0 && rest[0] != ' '
		case "invalid shell: '":
			w, _ := firstWord(rest)
			return bytes.IndexByte(w, '\'') >= 1
		}
		return true
	}
	return false
}
