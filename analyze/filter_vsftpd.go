package analyze

import (
	"bytes"
	"time"
)

// The vsftpd filter counts what fail2ban 1.0's vsftpd filter counts:
//
//   - vsftpd's own "FAIL LOGIN" record in vsftpd.log (dual_log_enable or
//     xferlog_std_format=NO): `DATE [pid N] [USER] FAIL LOGIN: Client
//     "ADDR"`, possibly followed by `, anon password "..."` or a reason;
//   - pam_unix's "authentication failure; ... tty=ftp ... rhost=HOST" under
//     vsftpd's syslog tag.
//
// Where the address comes from, per shape:
//   - FAIL LOGIN: between `] FAIL LOGIN: Client "` and the next '"'. The
//     user name before it and the anonymous password after it are the
//     client's and may hold the marker: every occurrence is tried, a
//     reading is kept when what follows its address is what vsftpd writes
//     there, and all kept readings must agree; else the line is skipped
//     as ambiguous.
//   - pam_unix: after " rhost=", with the remote user and the user (both
//     the login name) on either side; see pamAuthFailure. Linux-PAM before
//     0.99 ("(pam_unix) " after the tag, or the "vsftpd(pam_unix)" tag)
//     wrote no user.
//
// Deliberate differences from fail2ban 1.0.2:
//   - the FAIL LOGIN record also counts in syslog (syslog_enable=YES, where
//     vsftpd 3 drops the date and pid and vsftpd 2 keeps them);
//   - the old PAM tag "vsftpd(pam_unix)[pid]: authentication failure; ..."
//     counts;
//   - rsyslog's "message repeated N times" counts N failures;
//   - a record whose user name is forged to hold a second `] FAIL LOGIN:
//     Client "..."` (or a pam_unix line whose user holds a second " rhost=")
//     counts for nobody, where fail2ban may take the forged address.

// vsftpdFilter returns the built-in filter; builtins calls it at the first use.
func vsftpdFilter() *Filter {
	return &Filter{
		Name:        "vsftpd",
		Rules:       []string{"fail-login", "pam"},
		Sample:      `Tue Nov 24 10:00:00 2026 [pid 4242] [admin] FAIL LOGIN: Client "::ffff:192.0.2.7"`,
		Description: "vsftpd: FAIL LOGIN records in vsftpd.log or syslog, pam_unix authentication failures",
		New:         func(string) Matcher { return &vsftpdMatcher{} },
	}
}

type vsftpdMatcher struct{ h Header }

func (m *vsftpdMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	h := &m.h
	if tp.Syslog(line, h) {
		switch string(h.Prog) {
		case "vsftpd":
		case "vsftpd(pam_unix)":
			// Old PAM tag: the message starts at "authentication failure".
			return pamFailure(dst, num, h, h.Msg, "pam", true, "ftp", "")
		default:
			return dst, Missed
		}
		msg := h.Msg
		if len(msg) > 0 && msg[0] == '[' {
			return vsftpdFailLogin(dst, num, h.Time, h.Repeat, msg)
		}
		if r, ok := trimPrefix(msg, "(pam_unix) "); ok {
			// Linux-PAM before 0.99 without the tag's pid:
			// "vsftpd: (pam_unix) authentication failure; ...".
			return pamFailure(dst, num, h, r, "pam", true, "ftp", "")
		}
		if msg, ok := trimPrefix(msg, "pam_unix"); ok {
			if len(msg) > 0 && msg[0] == '(' {
				// pam_unix(vsftpd:auth):
				k := bytes.IndexByte(msg, ')')
				if k < 0 || bytes.IndexByte(msg[:k], ' ') >= 0 {
					return dst, Missed
				}
				msg = msg[k+1:]
			}
			if msg, ok = trimPrefix(msg, ": "); ok {
				return pamFailure(dst, num, h, msg, "pam", false, "ftp", "")
			}
			return dst, Missed
		}
		// vsftpd 2 wrote its own date into syslog too.
		if _, n, ok := tp.Parse(msg); ok && hasPrefix(msg[n:], " [pid ") {
			return vsftpdFailLogin(dst, num, h.Time, h.Repeat, msg[n+1:])
		}
		return dst, Missed
	}
	// vsftpd.log: "Tue Nov 24 10:00:00 2026 [pid 4242] [admin] FAIL LOGIN: ..."
	t, n, ok := tp.Parse(line)
	if !ok || !hasPrefix(line[n:], " [pid ") {
		return dst, Missed
	}
	return vsftpdFailLogin(dst, num, t, 1, line[n+1:])
}

// vsftpdFailLogin reads `[pid N] [USER] FAIL LOGIN: Client "ADDR"` and what
// may follow, the pid part being optional. The user name is the client's
// choice and may hold `] FAIL LOGIN: Client "`; what follows the address
// may be the anonymous password, also the client's. So every occurrence of
// the marker is tried as the real one, a reading is kept when what follows
// its address is something vsftpd writes there, and the record counts
// only when all readings name the same address.
func vsftpdFailLogin(dst []Failure, num int64, t time.Time, repeat int, b []byte) ([]Failure, Outcome) {
	if rest, ok := trimPrefix(b, "[pid "); ok {
		d := skipDigits(rest)
		if d == 0 || !hasPrefix(rest[d:], "] ") {
			return dst, Missed
		}
		b = rest[d+2:]
	}
	const mark = `] FAIL LOGIN: Client "`
	if len(b) == 0 || b[0] != '[' {
		return dst, Missed
	}
	b = trimSpaceRight(b)
	var v hostVote
	for i := 1; ; {
		k := indexFrom(b, mark, i)
		if k < 0 {
			break
		}
		i = k + 1
		user := b[1:k]
		rest := b[k+len(mark):]
		q := bytes.IndexByte(rest, '"')
		if q <= 0 {
			continue
		}
		a, ok := ParseAddr(rest[:q]) // vsftpd writes the address, never a name
		if !ok || !vsftpdLoginTail(rest[q+1:], user) {
			continue
		}
		v.add(rest[:q], a, user)
	}
	switch v.state() {
	case voteNone:
		return dst, Missed
	case voteSplit:
		return dst, Ambiguous
	}
	f, ok := newFailure(num, t, v.raw, v.user, "fail-login")
	if !ok {
		return dst, Missed
	}
	return appendN(dst, f, repeat), Matched
}

// vsftpdLoginTail reports whether t is what vsftpd writes after the client
// address of a login record for user: nothing, the anonymous password
// (only for the anonymous users), and a quoted reason without quotes.
func vsftpdLoginTail(t, user []byte) bool {
	if rest, ok := trimPrefix(t, `, anon password "`); ok {
		if !isAnonFTP(user) || len(rest) == 0 || rest[len(rest)-1] != '"' {
			return false
		}
		return true // the password may hold anything, a reason too
	}
	if len(t) == 0 {
		return true
	}
	r, ok := trimPrefix(t, `, "`)
	return ok && len(r) > 0 && r[len(r)-1] == '"' && bytes.IndexByte(r[:len(r)-1], '"') < 0
}

// isAnonFTP reports whether vsftpd treats user as anonymous.
func isAnonFTP(user []byte) bool {
	return len(user) == 3 && hasPrefixFold(user, "ftp") ||
		len(user) == 9 && hasPrefixFold(user, "anonymous")
}
