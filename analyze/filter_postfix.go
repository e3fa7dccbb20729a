package analyze

import "bytes"

// The postfix filter counts SASL authentication failures only: what fail2ban
// 1.0's postfix filter counts in its "auth" mode (the mode of Debian's
// postfix-sasl jail). fail2ban's other modes (normal, rbl, more, ddos,
// errors, extra, aggressive) count SMTP rejections and are not implemented.
//
//	postfix/smtpd[123]: warning: NAME[ADDR]: SASL LOGIN authentication failed: REASON
//	postfix/submission/smtpd[123]: warning: NAME[ADDR]:PORT: SASL PLAIN authentication failed: REASON, sasl_username=U
//
// NAME is "unknown" or the client's verified host name, which Postfix
// checks to be a valid name, so the first '[' is Postfix's; the user name
// and reason come after the address. The mechanism is LOGIN, PLAIN,
// CRAM-MD5 or DIGEST-MD5 in any case; the reasons "Connection lost to
// authentication server" and "Invalid authentication mechanism" are no
// failures of the client (Ignored).
//
// Deliberate difference from fail2ban 1.0.2: rsyslog's "message repeated N
// times" counts N failures.

// postfixFilter returns the built-in filter; builtins calls it at the first use.
func postfixFilter() *Filter {
	return &Filter{
		Name:        "postfix",
		Rules:       []string{"sasl"},
		Sample:      "Nov 24 10:00:00 mail postfix/submission/smtpd[4242]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
		Description: "Postfix smtpd: SASL authentication failures only (fail2ban's postfix[mode=auth]); no SMTP rejections",
		New:         func(string) Matcher { return &postfixMatcher{} },
	}
}

type postfixMatcher struct{ h Header }

func (m *postfixMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	h := &m.h
	if !tp.Syslog(line, h) || !isPostfixProg(h.Prog) {
		return dst, Missed
	}
	msg, ok := trimPrefix(h.Msg, "warning: ")
	if !ok {
		return dst, Missed
	}
	ob := bytes.IndexByte(msg, '[')
	if ob <= 0 {
		return dst, Missed
	}
	for _, c := range msg[:ob] {
		if c == ' ' || c == ']' {
			return dst, Missed
		}
	}
	rest := msg[ob+1:]
	cb := bytes.IndexByte(rest, ']')
	if cb <= 0 {
		return dst, Missed
	}
	addr := rest[:cb]
	rest = rest[cb+1:]
	if len(rest) > 1 && rest[0] == ':' && isDigit(rest[1]) { // client port
		d := skipDigits(rest[1:])
		rest = rest[1+d:]
	}
	if rest, ok = trimPrefix(rest, ": SASL "); !ok {
		return dst, Missed
	}
	var mech bool
	for _, s := range [...]string{"login", "plain", "cram-md5", "digest-md5"} {
		if hasPrefixFold(rest, s) && hasPrefix(rest[len(s):], " authentication failed:") {
			rest, mech = rest[len(s)+len(" authentication failed:"):], true
			break
		}
	}
	if !mech {
		return dst, Missed
	}
	if hasPrefix(rest, " Connection lost to authentication server") ||
		hasPrefix(rest, " Invalid authentication mechanism") {
		return dst, Ignored
	}
	a, ok := ParseAddr(addr)
	if !ok {
		return dst, Missed
	}
	f := Failure{Line: num, Time: h.Time, Addr: a, Rule: "sasl"}
	if k := index(rest, ", sasl_username="); k >= 0 {
		f.User = userString(rest[k+len(", sasl_username="):])
	}
	return appendN(dst, f, h.Repeat), Matched
}

// isPostfixProg reports whether p is a tag of Postfix's smtpd: "postfix" or
// "postfix-INSTANCE", then "/SERVICE", then optionally "/smtpd" or "/smtps"
// (postfix/smtpd, postfix/submission/smtpd, postfix-out/smtps/smtpd).
func isPostfixProg(p []byte) bool {
	rest, ok := trimPrefix(p, "postfix")
	if !ok {
		return false
	}
	if len(rest) > 0 && rest[0] == '-' {
		i := 1
		for i < len(rest) && isWordChar(rest[i]) {
			i++
		}
		if i == 1 {
			return false
		}
		rest = rest[i:]
	}
	if len(rest) < 2 || rest[0] != '/' {
		return false
	}
	i := 1
	for i < len(rest) && isWordChar(rest[i]) {
		i++
	}
	if i == 1 {
		return false
	}
	rest = rest[i:]
	return len(rest) == 0 || string(rest) == "/smtpd" || string(rest) == "/smtps"
}
