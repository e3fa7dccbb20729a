package analyze

import (
	"bytes"
	"net/netip"
	"time"
)

// The apache-auth filter counts what fail2ban 1.0's apache-auth filter
// counts in its normal mode: the authentication and authorization failures
// of Apache's aaa modules in the error log, in 2.2's and 2.4's formats:
//
//	[Sun Dec 04 04:47:44 2005] [error] [client 192.0.2.7] user admin not found: /private
//	[Tue Nov 24 10:00:00.123456 2026] [auth_basic:error] [pid 123:tid 456] [client 192.0.2.7:51234] AH01618: user admin not found: /private
//
// Apache writes the client before the message, so the user name and the URI
// in the message cannot move it. 2.4 always appends the port ("%a" is
// "ip:port", also for IPv6 without brackets), so for 2.4 lines the last
// ":digits" is cut before the address is read.
//
// Messages that count (after an optional "AH01234: " and, where Apache 2.2
// writes it, "Digest: " or "Basic: "): "client denied by server
// configuration", "client used wrong authentication scheme", "user U
// not found", "user U: authentication failure", "user U: authorization
// failure", "user U denied by provider", "user U: password mismatch",
// "Authorization of user U to access X failed", Digest's "user `U' in
// realm `R' not found" (and the other three endings), "invalid nonce ...
// received - length is not", "... - user attempted time travel", "realm
// mismatch - got `X' but expected", "unknown algorithm `X' received",
// "invalid qop `X' received", and mod_ssl's SNI mismatches.
//
// With "ErrorLog syslog" the same entry, without its date, follows the tag
// httpd, apache or apache2 (also "httpd/NAME"): "httpd[123]:
// [authz_core:error] [pid 123] [client ADDR:PORT] AH01630: ...". An IPv6
// client may come in brackets: "[client [2001:db8::1]:51548]".
//
// Where the address comes from, per shape: always from "[client ...]",
// which Apache writes before the message; everything the client chose
// (user name, URI, referrer, Host) comes after it. A line whose client
// field is not one address (with or without port) does not count.
//
// Deliberate differences from fail2ban 1.0.2: no modes (fail2ban's
// aggressive mode also counts mod_evasive's denials); an IPv6 client of
// Apache 2.4 is read without its port, where fail2ban's pattern may take
// the port for the address's last group.

// apacheAuthFilter returns the built-in filter; builtins calls it at the first use.
func apacheAuthFilter() *Filter {
	return &Filter{
		Name: "apache-auth",
		Rules: []string{"denied", "wrong-scheme", "user", "authorization", "password-mismatch",
			"digest-user", "digest", "sni"},
		Sample:      "[Tue Nov 24 10:00:00.123456 2026] [auth_basic:error] [pid 4242:tid 140011] [client 192.0.2.7:51234] AH01618: user admin not found: /private/",
		Description: "Apache httpd 2.2/2.4: authentication and authorization failures in the error log or through syslog",
		New:         func(string) Matcher { return &apacheAuthMatcher{} },
	}
}

type apacheAuthMatcher struct{ h Header }

func (m *apacheAuthMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	if len(line) == 0 {
		return dst, Missed
	}
	if line[0] != '[' {
		// ErrorLog syslog: "httpd[123]: [authz_core:error] [pid 123] ..."
		// (Apache opens syslog with LOG_PID). Looking at the first '['
		// keeps the other programs' lines from costing a header parse.
		h := &m.h
		if !apacheSyslogPID(line) || !tp.Syslog(line, h) || !apacheProg(h.Prog) || len(h.Msg) == 0 || h.Msg[0] != '[' {
			return dst, Missed
		}
		return apacheEntry(dst, num, h.Time, h.Msg[1:])
	}
	t, n, ok := tp.Parse(line)
	if !ok {
		return dst, Missed
	}
	b, ok := trimPrefix(line[n:], " [")
	if !ok {
		return dst, Missed
	}
	return apacheEntry(dst, num, t, b)
}

// apacheSyslogPID reports whether the first '[' of line opens a pid
// followed by "]: [": the tag and the error log entry of ErrorLog syslog.
func apacheSyslogPID(line []byte) bool {
	k := bytes.IndexByte(line, '[')
	if k < 0 {
		return false
	}
	d := skipDigits(line[k+1:])
	return d > 0 && hasPrefix(line[k+1+d:], "]: [")
}

// apacheProg reports whether a syslog tag is Apache's: httpd, apache or
// apache2, optionally followed by "/NAME" (a tag chosen per server).
func apacheProg(p []byte) bool {
	if k := bytes.IndexByte(p, '/'); k > 0 {
		p = p[:k]
	}
	if string(p) == "httpd" {
		return true
	}
	p, ok := trimPrefix(p, "apache")
	return ok && skipDigits(p) == len(p)
}

// apacheEntry reads an error log entry after its time and "[": the level,
// the optional pid, the client and the message.
func apacheEntry(dst []Failure, num int64, t time.Time, b []byte) ([]Failure, Outcome) {
	var ok bool
	// [error] (2.2) or [module:level] (2.4; ":error" without a module).
	e := bytes.IndexByte(b, ']')
	if e <= 0 {
		return dst, Missed
	}
	level := b[:e]
	v24 := false
	if string(level) != "error" {
		c := bytes.IndexByte(level, ':')
		if c < 0 || c == len(level)-1 || bytes.IndexByte(level, ' ') >= 0 ||
			(c == 0 && string(level) != ":error") || hasPrefix(level, "evasive") {
			return dst, Missed
		}
		v24 = true
	}
	if b, ok = trimPrefix(b[e+1:], " "); !ok {
		return dst, Missed
	}
	if rest, ok := trimPrefix(b, "[pid "); ok {
		e = bytes.IndexByte(rest, ']')
		if e < 0 || !apachePid(rest[:e]) || !hasPrefix(rest[e:], "] ") {
			return dst, Missed
		}
		b, v24 = rest[e+2:], true
	}
	if b, ok = trimPrefix(b, "[client "); !ok {
		return dst, Missed
	}
	e = bytes.IndexByte(b, ']')
	if e > 0 && b[0] == '[' && hasPrefix(b[e:], "]:") {
		// "[client [2001:db8::1]:51548] ": an IPv6 address in brackets.
		e += bytes.IndexByte(b[e+1:], ']') + 1
	}
	if e <= 0 || !hasPrefix(b[e:], "] ") {
		return dst, Missed
	}
	client, msg := b[:e], b[e+2:]
	addr, ok := apacheClient(client, v24)
	if !ok {
		return dst, Missed
	}
	// "AH01618: "
	if hasPrefix(msg, "AH") {
		if d := skipDigits(msg[2:]); d > 0 && hasPrefix(msg[2+d:], ": ") {
			msg = msg[2+d+2:]
		}
	}
	rule, user := apacheAuthRule(msg)
	if rule == "" {
		return dst, Missed
	}
	f := Failure{Line: num, Time: t, Addr: addr, Rule: rule}
	if len(user) > 0 {
		f.User = userString(user)
	}
	return append(dst, f), Matched
}

// apachePid reports whether b is "123" or "123:tid 456".
func apachePid(b []byte) bool {
	d := skipDigits(b)
	if d == 0 {
		return false
	}
	if d == len(b) {
		return true
	}
	rest := b[d:]
	if rest[0] != ':' {
		return false
	}
	sp := bytes.IndexByte(rest, ' ')
	return sp > 1 && isDigits(rest[sp+1:])
}

// apacheClient reads the client of "[client ...]". Apache 2.4 writes
// "ip:port" (IPv6 without brackets); 2.2 the bare address.
func apacheClient(b []byte, v24 bool) (netip.Addr, bool) {
	if v24 {
		if c := bytes.LastIndexByte(b, ':'); c > 0 && isPort(b[c:]) {
			if a, ok := ParseAddr(b[:c]); ok {
				return a, true
			}
		}
	}
	return ParseHostPort(b)
}

// apacheUserEnds are the endings of "user U ENDING".
var apacheUserEnds = [...]string{" authentication failure", " authorization failure", " not found", " denied by provider"}

// apacheAuthRule classifies an error message and returns its rule ("" when
// it is no failure) and the user it names.
func apacheAuthRule(msg []byte) (rule string, user []byte) {
	switch {
	case hasPrefix(msg, "client "):
		rest := msg[len("client "):]
		if wordAt(rest, "denied by server configuration") {
			return "denied", nil
		}
		if wordAt(rest, "used wrong authentication scheme") {
			return "wrong-scheme", nil
		}
		return "", nil
	case hasPrefix(msg, "user ") && !hasPrefix(msg, "user `"):
		rest := msg[len("user "):]
		// "user U ENDING": U is the first word, else the shortest text
		// before an ending.
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			for _, end := range apacheUserEnds {
				if wordAt(rest[sp:], end) {
					u, _ := trimSuffix(rest[:sp], ":")
					return "user", u
				}
			}
		}
		best := -1
		for _, end := range apacheUserEnds {
			for i := 0; ; {
				k := indexFrom(rest, end, i)
				if k < 0 {
					break
				}
				i = k + 1
				if wordAt(rest[k:], end) {
					if best < 0 || k < best {
						best = k
					}
					break
				}
			}
		}
		if best >= 0 {
			u, _ := trimSuffix(rest[:best], ":")
			return "user", u
		}
	case hasPrefix(msg, "Authorization of user "):
		rest := msg[len("Authorization of user "):]
		if k := index(rest, " to access "); k >= 0 {
			tail := rest[k+len(" to access "):]
			for i := 0; ; {
				j := indexFrom(tail, " failed", i)
				if j < 0 {
					break
				}
				i = j + 1
				if wordAt(tail[j:], " failed") {
					return "authorization", rest[:k]
				}
			}
		}
		return "", nil
	case hasPrefix(msg, "invalid qop `"):
		if apacheQuoted(msg[len("invalid qop `"):], "' received") {
			return "digest", nil
		}
		return "", nil
	case hasPrefix(msg, "Hostname ") || hasPrefix(msg, "No hostname "):
		if apacheSNI(msg) {
			return "sni", nil
		}
		return "", nil
	}
	// The rest may carry the auth type first: "Digest: ", "Basic: ".
	m := msg
	if len(m) > 0 && m[0] >= 'A' && m[0] <= 'Z' {
		i := 1
		for i < len(m) && isWordChar(m[i]) {
			i++
		}
		if hasPrefix(m[i:], ": ") {
			m = m[i+2:]
		}
	}
	switch {
	case hasPrefix(m, "user `"):
		rest := m[len("user `"):]
		k := index(rest, "' in realm `")
		if k < 0 {
			return "", nil
		}
		tail := rest[k+len("' in realm `"):]
		for i := 1; ; {
			j := indexFrom(tail, "'", i)
			if j < 0 {
				return "", nil
			}
			i = j + 1
			for _, end := range apacheUserEnds {
				if wordAt(tail[j+1:], end) {
					return "digest-user", rest[:k]
				}
			}
		}
	case hasPrefix(m, "user "):
		rest := m[len("user "):]
		if k := index(rest, ": password mismatch"); k >= 0 && wordAt(rest[k:], ": password mismatch") {
			return "password-mismatch", rest[:k]
		}
	case hasPrefix(m, "invalid nonce "):
		rest := m[len("invalid nonce "):]
		if k := index(rest, " received - length is not"); k >= 0 && wordAt(rest[k:], " received - length is not") {
			return "digest", nil
		}
		if k := index(rest, " received - user attempted time travel"); k >= 0 &&
			wordAt(rest[k:], " received - user attempted time travel") {
			return "digest", nil
		}
	case hasPrefix(m, "realm mismatch - got `"):
		if apacheQuoted(m[len("realm mismatch - got `"):], "' but expected") {
			return "digest", nil
		}
	case hasPrefix(m, "unknown algorithm `"):
		if apacheQuoted(m[len("unknown algorithm `"):], "' received") {
			return "digest", nil
		}
	}
	return "", nil
}

// apacheQuoted reports whether b holds end, ending a word, after at least
// nothing: "X' received".
func apacheQuoted(b []byte, end string) bool {
	for i := 0; ; {
		k := indexFrom(b, end, i)
		if k < 0 {
			return false
		}
		i = k + 1
		if wordAt(b[k:], end) {
			return true
		}
	}
}

// apacheSNI recognises mod_ssl's "Hostname X provided via SNI, but no
// hostname provided", "Hostname X provided via SNI and hostname Y
// provided" and "No hostname X provided via SNI for a name based virtual
// host" (X is one word).
func apacheSNI(msg []byte) bool {
	rest, ok := trimPrefix(msg, "Hostname ")
	if !ok {
		rest, _ = trimPrefix(msg, "No hostname ")
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return false
	}
	rest, ok = trimPrefix(rest[sp:], " provided via SNI")
	if !ok {
		return false
	}
	if wordAt(rest, ", but no hostname provided") || wordAt(rest, " for a name based virtual host") {
		return true
	}
	if rest, ok = trimPrefix(rest, " and hostname "); ok {
		sp = bytes.IndexByte(rest, ' ')
		return sp > 0 && wordAt(rest[sp:], " provided")
	}
	return false
}
