package analyze

import (
	"bytes"
	"net/netip"
)

// The dovecot filter counts what fail2ban 1.0's dovecot filter counts in its
// normal mode, through syslog (tags dovecot, dovecot-auth, auth) or
// Dovecot's own log file (where the process name takes the tag's place:
// "imap-login: Info: ...", "auth-worker(123): Info: ..."):
//
//   - the login processes' disconnect after failed authentication:
//     "imap-login: Disconnected (auth failed, 1 attempts in 2 secs):
//     user=<U>, method=PLAIN, rip=ADDR, lip=..., session=<...>", also
//     "Aborted login", "Remote closed connection", "Client has quit the
//     connection", the reasons "tried to use disabled|disallowed X auth"
//     and "proxy dest auth failed";
//   - the auth process's passdb failures: "pam(U,ADDR[,<session>]):
//     pam_authenticate() failed: ...", "passwd-file(U,ADDR): unknown user",
//     "sql(U,ADDR,<session>): Password mismatch", "ldap(...): invalid
//     credentials";
//   - pam_unix's "authentication failure; ... tty=dovecot ... rhost=ADDR".
//
// The user name is the client's choice. In the disconnect line it comes
// before the address and may hold ", rip=": rip= is taken where what follows
// it is what Dovecot writes after rip (no '>' but a final session=<...>),
// which a forged rip inside user=<...> can never satisfy, since Dovecot's
// own '>' closing the user follows it. In the passdb lines the user is
// inside the parentheses before the address, and a logged password may
// follow the message; all readings of the fields must agree (see
// hostVote).
//
// Dovecot 2.4 (what fail2ban 1.1.1 added): the login processes write
// "Login aborted: REASON (auth failed, N attempts in S secs) (auth_failed):
// user=<U>, ..., rip=ADDR, ..."; the auth process's event prefix names user
// and client, "auth(U,ADDR,SERVICE:MECH)<SESSION>: Info: sql: Password
// mismatch (given password: ...)", as the tag of its own log or after
// "dovecot: " in syslog. Lines under daemontools or s6 carry TAI64N stamps
// ("@4000..."); Dovecot 2.2's own log writes "auth-worker(default): ".
//
// Where the address comes from, per shape:
//   - disconnects: after a "rip=" that follows ", " (or the cause) and is
//     followed only by what Dovecot writes after rip; every such rip= is
//     tried and all must agree (user=<...> may hold ", rip=A").
//   - passdb failures "NAME(U,ADDR[,<S>|,|,SERVICE:MECH]): MSG" and 2.4's
//     prefix: the last comma-separated field, or the one before a session,
//     an empty field or SERVICE:MECH; every "): " followed by a failure
//     message is tried as the end of the fields and all must agree. This
//     relies on user names without commas, Dovecot's default
//     (auth_username_chars): Dovecot leaves the address out when the auth
//     client gave none, and a user "x,A" then reads as client A.
//   - pam_unix: see pamAuthFailure (ruser and user are both the user).
//
// Lines whose readings disagree are skipped (ambiguous), never guessed.
//
// Deliberate differences from fail2ban 1.0.2: rsyslog's "message repeated
// N times" counts N failures; TAI64N stamps are read as libtai does, 10 s
// earlier than fail2ban; no modes (fail2ban's aggressive mode also counts
// disconnects without any authentication attempt).

// dovecotFilter returns the built-in filter; builtins calls it at the first use.
func dovecotFilter() *Filter {
	return &Filter{
		Name:        "dovecot",
		Rules:       []string{"login", "pam", "passdb", "pam-unix"},
		Sample:      "Nov 24 10:00:00 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=192.0.2.7, lip=198.51.100.1, TLS, session=<kQ8bKpYHhsPAAgAH>",
		Description: "Dovecot IMAP/POP3: failed logins and passdb failures, through syslog or its own log",
		New:         func(string) Matcher { return &dovecotMatcher{} },
	}
}

type dovecotMatcher struct{ h Header }

// dovecotLogins are the login processes whose prefix may precede a message.
var dovecotLogins = [...]string{"imap-login: ", "pop3-login: ", "managesieve-login: ", "submission-login: "}

// dovecotDisconnects are the words that start a login process's disconnect
// message.
var dovecotDisconnects = [...]string{"Disconnected", "Aborted login", "Login aborted", "Remote closed connection", "Client has quit the connection"}

func (m *dovecotMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	h := &m.h
	if !tp.Syslog(line, h) {
		return dst, Missed
	}
	prog := trimPID(h.Prog)
	switch string(prog) {
	case "dovecot", "dovecot-auth", "auth", "auth-worker",
		"imap-login", "pop3-login", "managesieve-login", "submission-login":
	default:
		if len(prog) < 6 || prog[0] != 'a' {
			return dst, Missed
		}
		if e, ok := trimPrefix(prog, "auth("); ok {
			// Dovecot 2.4's own log: the event's prefix stands as the tag.
			return dovecotEvent(dst, num, h, e, h.Msg)
		}
		// Dovecot 2.2's own log: "auth-worker(default): ".
		if p, ok := trimPrefix(prog, "auth-worker("); !ok || len(p) < 2 || p[len(p)-1] != ')' {
			return dst, Missed
		}
	}
	b := dovecotContent(h.Msg)
	if e, ok := trimPrefix(b, "auth("); ok {
		// Dovecot 2.4 through syslog: "dovecot[1]: auth(U,ADDR,...)<S>: ..."
		if sp := bytes.IndexByte(e, ' '); sp > 1 && e[sp-1] == ':' {
			return dovecotEvent(dst, num, h, e[:sp-1], e[sp+1:])
		}
		return dst, Missed
	}
	if hasPrefix(b, "authentication failure; ") {
		return pamFailure(dst, num, h, b, "pam-unix", false, "dovecot")
	}
	var (
		addr netip.Addr
		user []byte
		rule string
		st   voteState
	)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		addr, user, st = dovecotDisconnect(b)
		rule = "login"
	} else {
		addr, user, rule, st = dovecotPassdb(b)
	}
	switch st {
	case voteNone:
		return dst, Missed
	case voteSplit:
		return dst, Ambiguous
	}
	f := Failure{Line: num, Time: h.Time, Addr: addr, Rule: rule}
	if len(user) > 0 {
		f.User = userString(user)
	}
	return appendN(dst, f, h.Repeat), Matched
}

// dovecotContent strips what may precede the message proper: "auth: ",
// "auth-worker(123): " (also after "dovecot: "), "pam_unix(dovecot:auth): ",
// a login process's name, "Info: ", and 2.3's "conn unix:auth-worker
// (pid=1,uid=2): auth-worker<3>: ".
func dovecotContent(b []byte) []byte {
	c, _ := trimPrefix(b, "dovecot: ")
	if r, ok := trimPrefix(c, "auth"); ok {
		r, _ = trimPrefix(r, "-worker")
		if len(r) > 0 && r[0] == '(' {
			if k := bytes.IndexByte(r, ')'); k > 1 {
				r = r[k+1:]
			}
		}
		if r, ok = trimPrefix(r, ": "); ok {
			b = r
		}
	}
	if r, ok := trimPrefix(b, "pam_unix"); ok {
		r, _ = trimPrefix(r, "(dovecot:auth)")
		if r, ok = trimPrefix(r, ": "); ok {
			b = r
		}
	} else {
		for _, l := range dovecotLogins {
			if r, ok := trimPrefix(b, l); ok {
				b = r
				break
			}
		}
	}
	b, _ = trimPrefix(b, "Info: ")
	if r, ok := trimPrefix(b, "conn "); ok {
		// "conn unix:auth-worker (pid=1,uid=2): auth-worker<3>: "
		c := bytes.IndexByte(r, ':')
		if c > 0 && (hasPrefix(r[c:], ":auth (") || hasPrefix(r[c:], ":auth-worker (")) {
			if k := index(r, "): auth"); k > 0 {
				r = r[k+len("): auth"):]
				r, _ = trimPrefix(r, "-worker")
				if len(r) > 2 && r[0] == '<' {
					d := skipDigits(r[1:])
					if d > 0 && hasPrefix(r[1+d:], ">: ") {
						b = r[1+d+3:]
					}
				}
			}
		}
	}
	return b
}

// dovecotDisconnect reads a login process's "Disconnected (auth failed, 1
// attempts in 2 secs): user=<U>, method=M, rip=ADDR, lip=..." and its
// variants.
func dovecotDisconnect(b []byte) (addr netip.Addr, user []byte, st voteState) {
	var rest []byte
	for _, w := range dovecotDisconnects {
		if r, ok := trimPrefix(b, w); ok {
			rest = r
			break
		}
	}
	if rest == nil {
		return addr, nil, voteNone
	}
	// An optional reason ("Disconnected: Connection closed: read(size=7902)
	// failed: ..."), then the parenthesised cause, then the fields.
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != ':' {
		return addr, nil, voteNone
	}
	var fields []byte
	for i := 0; fields == nil; {
		k := indexFrom(rest, " (", i)
		if k < 0 {
			return addr, nil, voteNone
		}
		i = k + 1
		if k > 0 && !hasPrefix(rest, ": ") {
			return addr, nil, voteNone
		}
		fields = dovecotCause(rest[k+2:])
	}
	var v hostVote
	for i := 0; ; {
		k := indexFrom(fields, "rip=", i)
		if k < 0 {
			break
		}
		i = k + 1
		if k == 0 || !(fields[k-1] == ' ' && (k == 1 || fields[k-2] == ',')) {
			continue
		}
		r := fields[k+len("rip="):]
		e := bytes.IndexByte(r, ',')
		if e < 0 {
			e = len(trimSpaceRight(r))
		}
		a, ok := ParseAddr(r[:e])
		if !ok || !dovecotAfterRip(r[e:]) {
			continue
		}
		v.add(r[:e], a, dovecotUser(fields[:k]))
	}
	return v.addr, v.user, v.state()
}

// dovecotCause reads the cause of a disconnect, after " (", and returns the
// fields after its "):", or nil when the cause is no failed authentication.
func dovecotCause(b []byte) []byte {
	switch {
	case hasPrefix(b, "auth failed, "):
		r := b[len("auth failed, "):]
		d := skipDigits(r)
		if d == 0 {
			return nil
		}
		r, ok := trimPrefix(r[d:], " attempts")
		if !ok {
			return nil
		}
		if s, ok := trimPrefix(r, " in "); ok {
			if d = skipDigits(s); d == 0 || !hasPrefix(s[d:], " secs") {
				return nil
			}
			r = s[d+len(" secs"):]
		}
		b = r
	case hasPrefix(b, "tried to use disabled ") || hasPrefix(b, "tried to use disallowed "):
		_, r := firstWord(b[len("tried to use "):])
		sp := bytes.IndexByte(r, ' ')
		if sp <= 0 || !hasPrefix(r[sp:], " auth") {
			return nil
		}
		b = r[sp+len(" auth"):]
	case hasPrefix(b, "proxy dest auth failed"):
		b = b[len("proxy dest auth failed"):]
	default:
		return nil
	}
	if r, ok := trimPrefix(b, "):"); ok {
		return r
	}
	// Dovecot 2.4 adds the reason's code: ") (auth_failed):".
	if r, ok := trimPrefix(b, ") ("); ok {
		i := 0
		for i < len(r) && (r[i] >= 'a' && r[i] <= 'z' || r[i] == '_') {
			i++
		}
		if r, ok = trimPrefix(r[i:], "):"); ok && i > 0 {
			return r
		}
	}
	return nil
}

// dovecotAfterRip reports whether t is what Dovecot writes after rip=ADDR:
// more ", key=value" fields without '>', except a final session=<ID>.
func dovecotAfterRip(t []byte) bool {
	t = trimSpaceRight(t)
	if len(t) == 0 {
		return true
	}
	if !hasPrefix(t, ", ") {
		return false
	}
	if t[len(t)-1] == '>' {
		k := lastIndex(t, ", session=<")
		if k < 0 {
			return false
		}
		id := t[k+len(", session=<") : len(t)-1]
		if len(id) == 0 || bytes.IndexByte(id, ' ') >= 0 || bytes.IndexByte(id, '>') >= 0 {
			return false
		}
		t = t[:k]
	}
	return bytes.IndexByte(t, '>') < 0
}

// dovecotUser reads the user from the fields before rip=: " user=<U>,
// method=M, " (method optional).
func dovecotUser(b []byte) []byte {
	b, ok := trimPrefix(b, " user=<")
	if !ok {
		return nil
	}
	b, _ = trimSuffix(b, " ")
	b, _ = trimSuffix(b, ",")
	if k := lastIndex(b, ">, method="); k >= 0 && bytes.IndexByte(b[k+len(">, method="):], ' ') < 0 {
		b = b[:k+1]
	}
	if u, ok := trimSuffix(b, ">"); ok {
		return u
	}
	return nil
}

// dovecotPassdb reads an auth process's passdb failure: "NAME(U,ADDR): MSG"
// or "NAME(U,ADDR,<SESSION>): MSG", NAME being pam, passwd-file, sql,
// ldap, ... The user may hold commas, parentheses and (when
// auth_username_chars allows) spaces, and a password logged after MSG may
// hold anything; so every "): " followed by a failure message is tried as
// the end of the fields, both readings of the fields are tried, and all
// readings must agree (see hostVote).
func dovecotPassdb(b []byte) (addr netip.Addr, user []byte, rule string, st voteState) {
	i := 0
	for i < len(b) && (b[i] >= 'a' && b[i] <= 'z' || b[i] == '-') {
		i++
	}
	if i < 3 || i > 15 || i >= len(b) || b[i] != '(' {
		return addr, nil, "", voteNone
	}
	pam := string(b[:i]) == "pam"
	var v hostVote
	for j := i; ; {
		k := indexFrom(b, "): ", j)
		if k < 0 {
			break
		}
		j = k + 1
		msg := b[k+3:]
		var r string
		switch {
		case pam && dovecotPamMsg(msg):
			r = "pam"
		case hasPrefixCap(msg, "unknown user") || hasPrefixCap(msg, "invalid credentials") ||
			hasPrefixCap(msg, "password mismatch"):
			r = "passdb"
		default:
			continue
		}
		n := v.n
		dovecotFields(&v, b[i+1:k])
		if v.n > n && rule == "" {
			rule = r
		}
	}
	return v.addr, v.user, rule, v.state()
}

// dovecotEvent reads Dovecot 2.4's passdb failures, whose event prefix
// names user and client: "auth(U,ADDR,SERVICE:MECH)<SESSION>: Info: sql:
// Password mismatch (given password: ...)". e is the prefix after
// "auth(", msg the message after its colon. The user may hold commas, so
// the address is read from the end of the parentheses (see dovecotFields).
func dovecotEvent(dst []Failure, num int64, h *Header, e, msg []byte) ([]Failure, Outcome) {
	if n := len(e); n > 0 && e[n-1] == '>' {
		k := bytes.LastIndexByte(e, '<')
		if k < 0 {
			return dst, Missed
		}
		e = e[:k]
	}
	inside, ok := trimSuffix(e, ")")
	if !ok {
		return dst, Missed
	}
	msg, _ = trimPrefix(msg, "Info: ")
	// The passdb driver: "sql: ", "pam: ", "ldap: ", "passwd-file: ".
	i := 0
	for i < len(msg) && (msg[i] >= 'a' && msg[i] <= 'z' || msg[i] == '-') {
		i++
	}
	if i >= 3 && i <= 15 && hasPrefix(msg[i:], ": ") {
		msg = msg[i+2:]
	}
	rule := "passdb"
	switch {
	case dovecotPamMsg(msg):
		rule = "pam"
	case hasPrefixCap(msg, "unknown user") || hasPrefixCap(msg, "invalid credentials") ||
		hasPrefixCap(msg, "password mismatch"):
	default:
		return dst, Missed
	}
	var v hostVote
	dovecotFields(&v, inside)
	switch v.state() {
	case voteNone:
		return dst, Missed
	case voteSplit:
		return dst, Ambiguous
	}
	f := Failure{Line: num, Time: h.Time, Addr: v.addr, Rule: rule}
	if len(v.user) > 0 {
		f.User = userString(v.user)
	}
	return appendN(dst, f, h.Repeat), Matched
}

// dovecotFields adds the readings of a passdb's "U,ADDR" or
// "U,ADDR,<SESSION>" to v.
func dovecotFields(v *hostVote, inside []byte) {
	last := bytes.LastIndexByte(inside, ',')
	if last <= 0 {
		return
	}
	if a, ok := ParseAddr(inside[last+1:]); ok {
		v.add(inside[last+1:], a, inside[:last])
	}
	// After the address: a session "<ID>", nothing ("U,ADDR,"), or 2.4's
	// "SERVICE:MECH" (sasl:login, imap:plain), which no address is.
	if s := inside[last+1:]; len(s) == 0 || len(s) > 2 && s[0] == '<' && s[len(s)-1] == '>' || dovecotServiceMech(s) {
		if prev := bytes.LastIndexByte(inside[:last], ','); prev > 0 {
			if a, ok := ParseAddr(inside[prev+1 : last]); ok {
				v.add(inside[prev+1:last], a, inside[:prev])
			}
		}
	}
}

// dovecotServiceMech reports whether s is "service:mech" in lower case.
func dovecotServiceMech(s []byte) bool {
	c := bytes.IndexByte(s, ':')
	if c <= 0 || c == len(s)-1 {
		return false
	}
	for i, x := range s {
		if i != c && !(x >= 'a' && x <= 'z' || x >= '0' && x <= '9' || x == '-' || x == '_') {
			return false
		}
	}
	return true
}

// dovecotPamMsg recognises what follows "pam(U,ADDR): " when PAM refused
// the password.
func dovecotPamMsg(msg []byte) bool {
	msg, ok := trimPrefix(msg, "pam_authenticate() failed: ")
	if !ok {
		return false
	}
	msg = trimSpaceRight(msg)
	if r, ok := trimPrefix(msg, "User not known to the underlying authentication module: "); ok {
		d := skipDigits(r)
		return d > 0 && string(r[d:]) == " Time(s)"
	}
	return string(msg) == "Authentication failure (password mismatch?)" ||
		string(msg) == "Authentication failure (Password mismatch?)" ||
		string(msg) == "Permission denied"
}
