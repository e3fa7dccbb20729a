package analyze

import (
	"bytes"
	"time"
)

// The nginx-http-auth filter counts what fail2ban 1.0's nginx-http-auth
// filter counts in its normal mode: ngx_http_auth_basic's two failures in
// nginx's error log,
//
//	2026/11/24 10:00:00 [error] 1234#1234: *1 user "U": password mismatch, client: ADDR, server: S, request: "...", host: "..."
//	2026/11/24 10:00:00 [error] 1234#1234: *1 user "U" was not found in "FILE", client: ADDR, server: S, ...
//
// The client stands between the user name and the request, host and
// referrer, all chosen by the client. But a Basic user name cannot hold a
// colon (the credentials are "user:password"), so the first colon after
// `user "` is the one nginx wrote: either `": password mismatch` or the
// colon of ", client:" after the (administrator's) password file.
//
// With Debian's libnginx-mod-http-auth-pam:
//
//	2026/11/24 10:00:00 [error] 1234#1234: *1 PAM: user 'U' - not authenticated: Authentication failure, client: ADDR, server: S, ...
//
// Where the address comes from: in the PAM form, after the first ", client: "
// that follows the first colon (the user has none, and what stands between
// is PAM's message); otherwise after the first `": password mismatch,
// client: ` or, in "was not found", after the first colon following
// `user "` (that of ", client:"), and up to ", server: ". A line with no
// address there does not count.
//
// Deliberate differences from fail2ban 1.0.2: fail2ban takes the last
// "client:" of a line whose user name seems to hold a forged record (its
// sample "trying injection on user name"); that user name has colons, which
// nginx never writes, so the forged text is the Host header's and logjail
// counts the client nginx wrote first. The request, host and
// referrer that follow the client are not checked (fail2ban wants an HTTP
// request line without spaces and a host); the error log sent to syslog
// ("nginx: 2026/11/24 10:00:00 [error] ...") counts too; the aggressive
// mode's TLS handshake failures are not implemented (no modes).

// nginxAuthFilter returns the built-in filter; builtins calls it at the first use.
func nginxAuthFilter() *Filter {
	return &Filter{
		Name:        "nginx-http-auth",
		Rules:       []string{"password-mismatch", "user-not-found", "pam"},
		Sample:      `2026/11/24 10:00:00 [error] 1234#1234: *7 user "admin": password mismatch, client: 192.0.2.7, server: example.com, request: "GET /private/ HTTP/1.1", host: "example.com"`,
		Description: "nginx: HTTP Basic authentication failures (auth_basic, auth_pam) in the error log (file or syslog)",
		New:         func(string) Matcher { return &nginxAuthMatcher{} },
	}
}

type nginxAuthMatcher struct{ h Header }

func (m *nginxAuthMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	if t, n, ok := tp.Parse(line); ok && hasPrefix(line[n:], " [error] ") {
		return nginxAuthFailure(dst, num, t, 1, line[n+len(" [error] "):])
	}
	// Through syslog: "TIME HOST nginx: 2026/11/24 10:00:00 [error] ...".
	h := &m.h
	if !tp.Syslog(line, h) || string(h.Prog) != "nginx" {
		return dst, Missed
	}
	_, n, ok := tp.Parse(h.Msg)
	if !ok || !hasPrefix(h.Msg[n:], " [error] ") {
		return dst, Missed
	}
	return nginxAuthFailure(dst, num, h.Time, h.Repeat, h.Msg[n+len(" [error] "):])
}

// nginxAuthFailure reads "PID#TID: *CID user ..." after the level.
func nginxAuthFailure(dst []Failure, num int64, t time.Time, repeat int, b []byte) ([]Failure, Outcome) {
	d := skipDigits(b)
	if d == 0 || d >= len(b) || b[d] != '#' {
		return dst, Missed
	}
	b = b[d+1:]
	if d = skipDigits(b); d == 0 || !hasPrefix(b[d:], ": *") {
		return dst, Missed
	}
	b = b[d+3:]
	d = skipDigits(b)
	if d > 0 && hasPrefix(b[d:], ` PAM: user '`) {
		return nginxPAMFailure(dst, num, t, repeat, b[d+len(` PAM: user '`):])
	}
	if d == 0 || !hasPrefix(b[d:], ` user "`) {
		return dst, Missed
	}
	b = b[d+len(` user "`):]
	c := bytes.IndexByte(b, ':')
	if c < 1 {
		return dst, Missed
	}
	var user, rest []byte
	var rule string
	if r, ok := trimPrefix(b[c-1:], `": password mismatch, client: `); ok {
		user, rest, rule = b[:c-1], r, "password-mismatch"
	} else {
		const notFound, client = `" was not found in "`, `", client`
		head := b[:c]
		k := lastIndex(head, notFound)
		if k < 0 || !hasSuffix(head, client) || k+len(notFound) > len(head)-len(client) ||
			!hasPrefix(b[c:], ": ") {
			return dst, Missed
		}
		user, rest, rule = b[:k], b[c+2:], "user-not-found"
	}
	e := bytes.IndexByte(rest, ',')
	if e <= 0 || !hasPrefix(rest[e:], ", server: ") {
		return dst, Missed
	}
	a, ok := ParseAddr(rest[:e]) // nginx writes the address, never a name
	if !ok {
		return dst, Missed
	}
	f := Failure{Line: num, Time: t, Addr: a, Rule: rule}
	if len(user) > 0 {
		f.User = userString(user)
	}
	return appendN(dst, f, repeat), Matched
}

// nginxPAMFailure reads the rest of ngx_http_auth_pam's failure (Debian's
// libnginx-mod-http-auth-pam), after "PAM: user '": "U' - not
// authenticated: REASON, client: ADDR, server: ...". The user has no colon
// (Basic credentials), so the first colon is the module's; REASON is PAM's
// own text.
func nginxPAMFailure(dst []Failure, num int64, t time.Time, repeat int, b []byte) ([]Failure, Outcome) {
	const mark = "' - not authenticated"
	c := bytes.IndexByte(b, ':')
	if c < len(mark) || !hasSuffix(b[:c], mark) || !hasPrefix(b[c:], ": ") {
		return dst, Missed
	}
	user, rest := b[:c-len(mark)], b[c+2:]
	k := index(rest, ", client: ")
	if k < 0 {
		return dst, Missed
	}
	rest = rest[k+len(", client: "):]
	e := bytes.IndexByte(rest, ',')
	if e <= 0 || !hasPrefix(rest[e:], ", server: ") {
		return dst, Missed
	}
	a, ok := ParseAddr(rest[:e])
	if !ok {
		return dst, Missed
	}
	f := Failure{Line: num, Time: t, Addr: a, Rule: "pam"}
	if len(user) > 0 {
		f.User = userString(user)
	}
	return appendN(dst, f, repeat), Matched
}
