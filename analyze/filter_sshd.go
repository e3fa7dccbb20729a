package analyze

import (
	"bytes"
	"net/netip"
	"time"
)

// The sshd filter follows what fail2ban 1.0's sshd filter counts, mode for
// mode, but parses each message shape by hand instead of trying a list of
// regular expressions.
//
// OpenSSH reports one login attempt over several lines of one process: the
// PAM line names the client, "Failed password" counts, "Connection closed"
// ends it; and some failures ("Disconnecting: Too many authentication
// failures", "account is locked") do not repeat the address at all. So the
// matcher keeps a little context per process (host, tag and pid): the
// address last named, the users tried, and a failure still waiting for its
// address. Lines that only name the client ("helper" lines) update that
// context without counting, unless a failure was waiting for them or the
// process has tried more than one user name.
//
// Deliberate differences from fail2ban 1.0.2:
//   - rsyslog's "message repeated N times: [ ... ]" counts N failures
//     (fail2ban counts none: its prefix does not expect the wrapper);
//   - the old PAM tag "sshd(pam_unix)[pid]: authentication failure; ...
//     rhost=HOST" counts as a failure: sshd of that era logged nothing else
//     for a failed password;
//   - the process context follows log time (entries expire after 10 minutes
//     of silence, 4096 at most) instead of the wall clock, so replaying an
//     old log gives the same answer as reading it live.

const (
	sshdDDoS  = 1 << iota // mode bits
	sshdExtra             //
)

var sshdModes = map[string]int{
	"normal":     0,
	"ddos":       sshdDDoS,
	"extra":      sshdExtra,
	"aggressive": sshdDDoS | sshdExtra,
}

func init() {
	register(&Filter{
		Name:        "sshd",
		Modes:       []string{"normal", "ddos", "extra", "aggressive"},
		Description: "OpenSSH server (sshd, sshd-session) through syslog or journald text",
		Sample:      "Jun 21 16:47:48 host sshd[19939]: Failed password for invalid user admin from 192.0.2.7 port 40123 ssh2",
		Rules: []string{"failed", "invalid-user", "not-allowed", "auth-failure", "not-known",
			"root-refused", "refused-connect", "auth-fail-disconnect", "max-attempts",
			"account-locked", "change-user", "too-many", "pam-legacy", "no-ident",
			"kex-ident", "bad-version", "socket-reset", "banner", "preauth-closed",
			"no-auth-methods", "negotiate"},
		New: func(mode string) Matcher {
			return &sshdMatcher{mode: sshdModes[mode]}
		},
	})
}

// sshEvent is what one line says, before the process context is applied.
type sshEvent struct {
	rule   string // failure rule; "" for a helper line
	host   []byte // the client as written, nil when the line does not say
	user   []byte
	hasU   bool // the line names a user (even an empty one)
	forget bool // the line ends the process's attempt
	gained bool // the login succeeded
}

// sshProc is the context kept per sshd process.
type sshProc struct {
	addr        netip.Addr
	name        string // host name, when only a name is known
	users       [4]string
	nusers      int
	user        string // the user last named
	pending     int    // failures still waiting for an address
	pendingRule string
	seen        int64 // Unix nanoseconds of the process's last line
}

const (
	sshProcMax  = 4096
	sshProcIdle = 10 * time.Minute
)

type sshdMatcher struct {
	mode  int
	procs procTable
	h     Header
	free  []*sshProc
	users interner

	// The last host and tag seen, and their hash: consecutive lines
	// mostly come from one machine's sshd.
	lastHostProg []byte
	lastHPHash   uint64
	// The last process looked up: an attempt's lines come together.
	lastKey  uint64
	lastProc *sshProc
	// The last client address parsed: an attack's lines repeat it.
	lastHost []byte
	lastAddr netip.Addr
	lastName string
}

func isSSHDProg(p []byte) bool {
	if len(p) < 4 || string(p[:4]) != "sshd" {
		return false
	}
	p = p[4:]
	return len(p) == 0 || string(p) == "-session" || string(p) == "-auth" ||
		(p[0] == '(' && p[len(p)-1] == ')')
}

func (m *sshdMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	h := &m.h
	if !tp.Syslog(line, h) || !isSSHDProg(h.Prog) {
		return dst, Missed
	}
	msg := h.Msg
	var ev sshEvent
	if len(h.Prog) > 4 && h.Prog[4] == '(' {
		// Old PAM tag: sshd(pam_unix)[pid]: authentication failure; ...
		if !m.pamLegacy(msg, &ev) {
			return dst, Missed
		}
	} else {
		msg, _ = trimPrefix(msg, "error: ")
		msg, _ = trimPrefix(msg, "fatal: ")
		msg, _ = trimPrefix(msg, "PAM: ")
		if !m.classify(msg, &ev) {
			return dst, Missed
		}
	}
	return m.apply(dst, num, h, &ev)
}

// apply merges ev into its process's context and emits the failures it
// completes.
func (m *sshdMatcher) apply(dst []Failure, num int64, h *Header, ev *sshEvent) ([]Failure, Outcome) {
	var addr netip.Addr
	var name string
	if ev.host != nil {
		if string(ev.host) == string(m.lastHost) && len(m.lastHost) > 0 {
			addr, name = m.lastAddr, m.lastName
		} else {
			var ok bool
			if addr, name, ok = hostOf(ev.host); !ok {
				return dst, Missed
			}
			m.lastHost = append(m.lastHost[:0], ev.host...)
			m.lastAddr, m.lastName = addr, name
		}
	}
	key := m.procKey(h)
	p := m.lastProc
	if p == nil || key != m.lastKey {
		p = m.procs.Get(key)
		m.lastKey, m.lastProc = key, p
	}
	now := h.Time.UnixNano()
	if p != nil && now-p.seen > int64(sshProcIdle) {
		m.drop(key, p)
		p = nil
	}
	nofail := ev.rule == ""
	multiUser := false
	if p == nil && !ev.forget {
		p = m.add(key, now)
	}
	if p != nil {
		p.seen = now
		m.procs.Touch(key, p)
		if ev.hasU {
			p.user = m.users.get(ev.user)
			multiUser = p.addUser(p.user)
		}
		if ev.gained {
			p.pending = 0
		}
		switch {
		case addr.IsValid():
			p.addr, p.name = addr, ""
		case name != "" && !p.addr.IsValid():
			p.name = name
		}
		addr, name = p.addr, p.name
	}
	rule, count := ev.rule, h.Repeat
	if p != nil && (p.pending > 0 || multiUser) {
		// A failure was waiting for this line's address, or the process
		// tries several user names: helper lines count as well.
		if nofail {
			rule = p.pendingRule
			if rule == "" {
				rule = "multi-user"
			}
			nofail = false
		}
		if p.pending > 0 && (addr.IsValid() || name != "") {
			count = p.pending
			p.pending = 0
		}
	}
	user := ""
	if ev.hasU {
		user = m.users.get(ev.user)
	} else if p != nil {
		user = p.user
	}
	if ev.forget && p != nil {
		m.drop(key, p)
	}
	if nofail {
		return dst, Ignored
	}
	if !addr.IsValid() && name == "" {
		if p != nil {
			p.pending += count
			p.pendingRule = rule
		}
		return dst, Ignored
	}
	for i := 0; i < count; i++ {
		dst = append(dst, Failure{Line: num, Time: h.Time, Addr: addr, Host: name, User: user, Rule: rule})
	}
	return dst, Matched
}

// procKey identifies the process that wrote a line: host, tag and pid.
func (m *sshdMatcher) procKey(h *Header) uint64 {
	n := len(h.Host)
	if len(m.lastHostProg) != n+1+len(h.Prog) || string(m.lastHostProg[:n]) != string(h.Host) ||
		string(m.lastHostProg[n+1:]) != string(h.Prog) {
		m.lastHostProg = append(append(append(m.lastHostProg[:0], h.Host...), 0), h.Prog...)
		k := uint64(14695981039346656037) // FNV-1a
		for _, c := range m.lastHostProg {
			k = (k ^ uint64(c)) * 1099511628211
		}
		m.lastHPHash = k
	}
	pid := uint64(0)
	for _, c := range h.PID {
		pid = pid*10 + uint64(c-'0')
	}
	return m.lastHPHash ^ pid*0x9E3779B97F4A7C15
}

func (m *sshdMatcher) add(key uint64, now int64) *sshProc {
	if m.procs.Len() >= sshProcMax {
		// The idle contexts, then the least recently seen (all at the
		// head of the table's order).
		for k, q := m.procs.Oldest(); q != nil && (now-q.seen > int64(sshProcIdle) || m.procs.Len() >= sshProcMax); k, q = m.procs.Oldest() {
			m.drop(k, q)
		}
	}
	var p *sshProc
	if n := len(m.free); n > 0 {
		p, m.free = m.free[n-1], m.free[:n-1]
	} else {
		p = new(sshProc)
	}
	m.procs.Set(key, p)
	m.lastKey, m.lastProc = key, p
	return p
}

func (m *sshdMatcher) drop(key uint64, p *sshProc) {
	m.procs.Delete(key)
	if m.lastProc == p {
		m.lastProc = nil
	}
	*p = sshProc{}
	if len(m.free) < 64 {
		m.free = append(m.free, p)
	}
}

// addUser records u and reports whether the process has now tried more
// than one distinct user name.
func (p *sshProc) addUser(u string) bool {
	for _, x := range p.users[:p.nusers] {
		if x == u {
			return p.nusers > 1
		}
	}
	if p.nusers < len(p.users) {
		p.users[p.nusers] = u
		p.nusers++
	}
	return p.nusers > 1
}

// classify recognises one sshd message (after "error: " and similar).
func (m *sshdMatcher) classify(msg []byte, ev *sshEvent) bool {
	if len(msg) < 8 {
		return false
	}
	switch msg[0] {
	case 'F':
		if b, ok := trimPrefix(msg, "Failed "); ok {
			return sshFailed(b, ev)
		}
	case 'I', 'i':
		if len(msg) > 13 && (string(msg[1:13]) == "nvalid user " || string(msg[1:13]) == "llegal user ") {
			return fromAtEnd(msg[13:], "invalid-user", ev)
		}
	case 'A', 'a':
		if b, ok := trimPrefix(msg, "Accepted "); ok {
			return sshAccepted(b, ev)
		}
		for _, p := range [...]string{"uthentication failure for ", "uthentication error for ", "uthentication failed for "} {
			if hasPrefix(msg[1:], p) {
				return sshAuthFailure(msg[1+len(p):], ev)
			}
		}
	case 'U':
		if b, ok := trimPrefix(msg, "User not known to the underlying authentication module for "); ok {
			return fromAtEnd(b, "not-known", ev)
		}
		if b, ok := trimPrefix(msg, "User "); ok {
			return sshUserNotAllowed(b, ev)
		}
		if m.mode&sshdExtra != 0 {
			if b, ok := trimPrefix(msg, "Unable to negotiate with "); ok {
				return sshNegotiateWith(b, ev)
			}
			if b, ok := trimPrefix(msg, "Unable to negotiate a "); ok && algMatch(b) > 0 {
				ev.rule = "negotiate"
				return true
			}
		}
	case 'R':
		if b, ok := trimPrefix(msg, "ROOT LOGIN REFUSED FROM "); ok {
			ev.rule, ev.user, ev.hasU = "root-refused", msg[:4], true
			ev.host, _ = firstWord(b)
			return true
		}
		if b, ok := trimPrefix(msg, "Received disconnect from "); ok {
			return m.receivedDisconnect(b, ev)
		}
		if m.mode&sshdDDoS != 0 && hasPrefix(msg, "Read from socket failed: Connection reset by peer") {
			ev.rule, ev.forget = "socket-reset", true
			return true
		}
	case 'r':
		if b, ok := trimPrefix(msg, "refused connect from "); ok {
			// "refused connect from NAME (ADDR)": the name comes from
			// reverse DNS, so take the address in the final parentheses.
			b = trimSpaceRight(b)
			i := bytes.LastIndexByte(b, '(')
			if i < 1 || b[len(b)-1] != ')' || b[i-1] != ' ' {
				return false
			}
			ev.rule, ev.host = "refused-connect", b[i+1:len(b)-1]
			return true
		}
	case 'p':
		if hasPrefix(msg, "pam_") {
			return sshPAM(msg, ev)
		}
	case 'm':
		if b, ok := trimPrefix(msg, "maximum authentication attempts exceeded for "); ok {
			return sshMaxAttempts(b, ev)
		}
	case 'D':
		if b, ok := trimPrefix(msg, "Disconnecting: Too many authentication failures"); ok {
			b = stripSuffix(b, 3, true)
			if len(b) > 0 {
				u, ok := trimPrefix(b, " for ")
				if !ok {
					return false
				}
				ev.user, ev.hasU = u, true
			}
			ev.rule = "too-many"
			return true
		}
		if b, ok := trimPrefix(msg, "Disconnecting "); ok {
			return sshChangeUser(b, ev)
		}
		if b, ok := trimPrefix(msg, "Disconnected "); ok {
			return m.closed(b, true, ev)
		}
		if m.mode&sshdDDoS != 0 {
			if b, ok := trimPrefix(msg, "Did not receive identification string from "); ok {
				ev.rule = "no-ident"
				ev.host, _ = firstWord(b)
				return true
			}
		}
	case 'C':
		if b, ok := trimPrefix(msg, "Connection closed "); ok {
			return m.closed(b, false, ev)
		}
		if b, ok := trimPrefix(msg, "Connection reset "); ok {
			return m.closed(b, false, ev)
		}
		if b, ok := trimPrefix(msg, "Connection from "); ok {
			ev.host, _ = firstWord(b)
			return true
		}
	case 'k':
		if b, ok := trimPrefix(msg, "kex_exchange_identification: "); ok && m.mode&sshdDDoS != 0 {
			b, _ = trimPrefix(b, "read: ")
			if hasPrefix(b, "Client sent invalid protocol identifier") || hasPrefix(b, "client sent invalid protocol identifier") ||
				hasPrefix(b, "Connection closed by remote host") || hasPrefix(b, "connection closed by remote host") ||
				hasPrefix(b, "Connection reset by peer") || hasPrefix(b, "connection reset by peer") {
				ev.rule = "kex-ident"
				return true
			}
		}
	case 'B':
		if b, ok := trimPrefix(msg, "Bad protocol version identification '"); ok && m.mode&sshdDDoS != 0 {
			// The quoted text is the client's: the address is the word
			// after the last "' from ".
			i := lastIndex(b, "' from ")
			if i < 0 {
				return false
			}
			ev.rule = "bad-version"
			ev.host, _ = firstWord(b[i+7:])
			return true
		}
	case 'S':
		if b, ok := trimPrefix(msg, "SSH: Server;Ltype: "); ok && m.mode&sshdDDoS != 0 {
			return sshServerLtype(b, ev)
		}
	case 'b':
		if b, ok := trimPrefix(msg, "banner exchange: Connection from "); ok && m.mode&sshdDDoS != 0 {
			i := index(b, ": invalid format")
			if i < 0 {
				return false
			}
			h := stripSuffix(b[:i], 2, false)
			if bytes.IndexByte(h, ' ') >= 0 {
				return false
			}
			ev.rule, ev.host = "banner", h
			return true
		}
	case 'n':
		if b, ok := trimPrefix(msg, "no matching "); ok && m.mode&sshdExtra != 0 {
			if n := algMatch(b); n > 0 && hasPrefix(b[n:], " found:") {
				ev.rule = "negotiate"
				return true
			}
		}
	}
	return false
}

// stripSuffix removes up to max trailing words of the forms "port N",
// "on X" and (when preauth is true) "[preauth]", and trailing white space:
// what sshd appends after the address.
func stripSuffix(b []byte, max int, preauth bool) []byte {
	b = trimSpaceRight(b)
	for ; max > 0; max-- {
		if preauth {
			if c, ok := trimSuffix(b, " [preauth]"); ok {
				b = c
				continue
			}
		}
		rest, last := lastWord(b)
		rest2, kw := lastWord(rest)
		switch {
		case rest == nil || rest2 == nil:
			return b
		case string(kw) == "port" && isDigits(last), string(kw) == "on" && len(last) > 0:
			b = rest2
		default:
			return b
		}
	}
	return b
}

// fromAtEnd parses "USER from HOST" + suffix, where nothing but sshd's own
// suffix may follow the address.
func fromAtEnd(b []byte, rule string, ev *sshEvent) bool {
	b = stripSuffix(b, 3, true)
	i := lastIndex(b, " from ")
	if i < 0 {
		return false
	}
	host := b[i+6:]
	if len(host) == 0 || bytes.IndexByte(host, ' ') >= 0 {
		return false
	}
	ev.rule, ev.host, ev.user, ev.hasU = rule, host, b[:i], true
	return true
}

// sshFailed parses what follows "Failed ": METHOD for [invalid user ]USER
// from HOST [port N] [on X] [ssh2][: details].
func sshFailed(b []byte, ev *sshEvent) bool {
	method, rest := firstWord(b)
	rest, ok := trimPrefix(rest, "for ")
	if !ok || len(method) == 0 {
		return false
	}
	rest, invalid := trimPrefix(rest, "invalid user ")
	// The user name is the client's choice and may contain " from ": the
	// address follows the last one. Most lines end "from HOST port N
	// ssh2", which is read from the end at once.
	i := fromBeforePortSSH2(rest)
	if i < 0 {
		i = lastIndex(rest, " from ")
	}
	if i < 0 {
		return false
	}
	host, _ := firstWord(rest[i+6:])
	if len(host) == 0 {
		return false
	}
	ev.host, ev.user, ev.hasU = host, rest[:i], true
	if string(method) == "publickey" && !invalid {
		return true // a failed key of a real user is no attack: helper line
	}
	ev.rule = "failed"
	return true
}

// fromBeforePortSSH2 returns the index of " from " in b when b ends with
// " from HOST port N ssh2", else -1.
func fromBeforePortSSH2(b []byte) int {
	r, ok := trimSuffix(b, " ssh2")
	if !ok {
		return -1
	}
	r, n := lastWord(r)
	if !isDigits(n) {
		return -1
	}
	if r, ok = trimSuffix(r, " port"); !ok {
		return -1
	}
	r, host := lastWord(r)
	if len(host) == 0 || !hasSuffix(r, " from") {
		return -1
	}
	return len(r) - 5
}

// sshAccepted parses what follows "Accepted ": METHOD for USER from HOST.
func sshAccepted(b []byte, ev *sshEvent) bool {
	_, rest := firstWord(b)
	rest, ok := trimPrefix(rest, "for ")
	if !ok {
		return false
	}
	user, rest := firstWord(rest)
	rest, ok = trimPrefix(rest, "from ")
	if !ok {
		return false
	}
	ev.host, _ = firstWord(rest)
	ev.user, ev.hasU = user, true
	ev.forget, ev.gained = true, true
	return true
}

// sshAuthFailure parses USER from HOST [via X] + suffix.
func sshAuthFailure(b []byte, ev *sshEvent) bool {
	b = stripSuffix(b, 3, true)
	i := lastIndex(b, " from ")
	if i < 0 {
		return false
	}
	host, via := firstWord(b[i+6:])
	if via != nil {
		kw, x := firstWord(via)
		if string(kw) != "via" || len(x) == 0 || bytes.IndexByte(x, ' ') >= 0 {
			return false
		}
	}
	ev.rule, ev.host, ev.user, ev.hasU = "auth-failure", host, b[:i], true
	return true
}

var notAllowedReasons = [...]string{
	" not allowed because not listed in AllowUsers",
	" not allowed because listed in DenyUsers",
	" not allowed because not in any group",
	" not allowed because a group is listed in DenyGroups",
	" not allowed because none of user's groups are listed in AllowGroups",
}

// sshUserNotAllowed parses what follows "User ": USER from HOST not
// allowed because REASON, or USER not allowed because account is locked.
func sshUserNotAllowed(b []byte, ev *sshEvent) bool {
	b = stripSuffix(b, 3, true)
	if u, ok := trimSuffix(b, " not allowed because account is locked"); ok {
		ev.rule, ev.user, ev.hasU = "account-locked", u, true
		return true
	}
	for _, r := range notAllowedReasons {
		if u, ok := trimSuffix(b, r); ok {
			// The reason is sshd's text at the very end, the address the
			// word just before it.
			u, host := lastWord(u)
			u, ok := trimSuffix(u, " from")
			if !ok {
				return false
			}
			ev.rule, ev.host, ev.user, ev.hasU = "not-allowed", host, u, true
			return true
		}
	}
	return false
}

// sshPAM parses pam_X(sshd:auth): authentication failure; logname= uid=
// euid= tty= ruser= rhost=HOST [user=USER]: a helper line naming the client.
func sshPAM(msg []byte, ev *sshEvent) bool {
	// "pam_" then a short module name, then the fixed words.
	i := 4
	for i < len(msg) && i < 20 && msg[i] >= 'a' && msg[i] <= 'z' {
		i++
	}
	b, ok := trimPrefix(msg[i:], "(sshd:auth): authentication failure;")
	if !ok || i == 4 {
		return false
	}
	return pamFields(b, ev)
}

// pamFields reads the key=value list of a PAM authentication failure:
// up to four of logname=, uid=, euid=, tty=, then ruser=, rhost= and an
// optional user=. Only user= holds the client's text, and it comes last.
func pamFields(b []byte, ev *sshEvent) bool {
	var f []byte
	for n := 0; ; n++ {
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		if len(b) == 0 || n > 4 {
			return false
		}
		f, b = firstWord(b)
		if !hasPrefix(f, "logname=") && !hasPrefix(f, "uid=") && !hasPrefix(f, "euid=") && !hasPrefix(f, "tty=") {
			break
		}
	}
	if !hasPrefix(f, "ruser=") {
		return false
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	f, b = firstWord(b)
	if !hasPrefix(f, "rhost=") || len(f) == 6 {
		return false
	}
	ev.host = f[6:]
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if len(b) == 0 {
		return true
	}
	rest := stripSuffix(b, 3, true)
	if len(rest) > 0 {
		u, ok := trimPrefix(rest, "user=")
		if !ok || spaceIndex(u) >= 0 {
			return false
		}
		ev.user, ev.hasU = u, true
	}
	return true
}

// pamLegacy: "sshd(pam_unix)[pid]: authentication failure; ... rhost=HOST".
func (m *sshdMatcher) pamLegacy(msg []byte, ev *sshEvent) bool {
	b, ok := trimPrefix(msg, "authentication failure;")
	if !ok || !pamFields(b, ev) {
		return false
	}
	ev.rule = "pam-legacy"
	return true
}

// sshMaxAttempts parses [invalid user ]USER from HOST [port N] [ssh2] + suffix.
func sshMaxAttempts(b []byte, ev *sshEvent) bool {
	b = stripSuffix(b, 3, true)
	if c, ok := trimSuffix(b, " ssh2"); ok {
		b = stripSuffix(c, 2, false)
	}
	b, _ = trimPrefix(b, "invalid user ")
	return fromAtEnd(b, "max-attempts", ev)
}

// sshChangeUser parses what follows "Disconnecting ": [from ](invalid|
// authenticating) user USER HOST [port N]: Change of username or service
// not allowed: (USER,svc) -> (other,svc) [preauth].
func sshChangeUser(b []byte, ev *sshEvent) bool {
	b, _ = trimPrefix(b, "from ")
	var ok bool
	if b, ok = trimPrefix(b, "invalid user "); !ok {
		if b, ok = trimPrefix(b, "authenticating user "); !ok {
			return false
		}
	}
	const what = ": Change of username or service not allowed: "
	i := index(b, what)
	if i < 0 {
		return false
	}
	head, tail := stripSuffix(b[:i], 2, false), b[i+len(what):]
	user, host := firstWord(head)
	if len(host) == 0 || bytes.IndexByte(host, ' ') >= 0 {
		return false
	}
	// sshd repeats the user name in the tail; a name with spaces that
	// imitates the message fails this check.
	t, ok := trimPrefix(tail, "(")
	if !ok || !hasPrefix(t, string(user)) || len(t) <= len(user) || t[len(user)] != ',' || !hasSuffix(trimSpaceRight(tail), "[preauth]") {
		return false
	}
	ev.rule, ev.host, ev.user, ev.hasU, ev.forget = "change-user", host, user, true, true
	return true
}

// receivedDisconnect parses what follows "Received disconnect from ":
// HOST [port N] [on X]: CODE: text.
func (m *sshdMatcher) receivedDisconnect(b []byte, ev *sshEvent) bool {
	// The host is the first word; a colon may end it ("1.2.3.4: 11:"),
	// and an IPv6 address holds colons of its own.
	host, _ := firstWord(b)
	colons, first := 0, -1
	for j, c := range host {
		if c == ':' {
			if colons == 0 {
				first = j
			}
			colons++
		}
	}
	if colons == 1 {
		host = host[:first]
	} else if len(host) > 0 && host[len(host)-1] == ':' {
		host = host[:len(host)-1]
	}
	if len(host) == 0 {
		return false
	}
	i := len(host)
	rest := b[i:]
	// skip " port N" and " on X"; a colon may follow at once.
	for k := 0; k < 2; k++ {
		if r, ok := trimPrefix(rest, " port "); ok {
			j := 0
			for j < len(r) && isDigit(r[j]) {
				j++
			}
			if j == 0 {
				return false
			}
			rest = r[j:]
		} else if r, ok := trimPrefix(rest, " on "); ok {
			j := 0
			for j < len(r) && r[j] != ' ' && r[j] != ':' {
				j++
			}
			rest = r[j:]
		}
	}
	rest, ok := trimPrefix(rest, ":")
	if !ok {
		return false
	}
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	ev.host, ev.forget = host, true
	switch {
	case hasPrefix(rest, "11:"):
		return true // helper: the client said goodbye
	case hasPrefix(rest, "3: "):
		t := stripSuffix(rest, 3, true)
		if hasSuffix(t, ": Auth fail") {
			ev.rule = "auth-fail-disconnect"
			return true
		}
	case hasPrefix(rest, "14: ") && m.mode&sshdExtra != 0:
		t, _ := trimPrefix(rest[4:], "No")
		if hasPrefix(t, " authentication methods available") || hasPrefix(t, " supported authentication methods available") {
			ev.rule = "no-auth-methods"
			return true
		}
	}
	return false
}

// closed parses what follows "Connection closed ", "Connection reset " or
// "Disconnected ": (by|from) [(invalid|authenticating) user USER] HOST +
// suffix. It is a helper line, or a failure before authentication in the
// ddos and extra modes.
func (m *sshdMatcher) closed(b []byte, disconnected bool, ev *sshEvent) bool {
	byFrom := false
	if c, ok := trimPrefix(b, "by "); ok {
		b, byFrom = c, true
	} else if c, ok := trimPrefix(b, "from "); ok {
		b, byFrom = c, true
	}
	preauth := hasSuffix(trimSpaceRight(b), " [preauth]")
	userPart, host := lastWord(stripSuffix(b, 3, true))
	if len(host) == 0 {
		return false
	}
	hasUser := false
	if userPart != nil {
		u, ok := trimPrefix(userPart, "invalid user ")
		if !ok {
			if u, ok = trimPrefix(userPart, "authenticating user "); !ok {
				return false
			}
		}
		ev.user, ev.hasU, hasUser = u, true, true
	}
	// "Disconnected invalid user X HOST" needs no "from"; the others do.
	if !byFrom && !(disconnected && hasUser) {
		return false
	}
	ev.host, ev.forget = host, true
	switch {
	case m.mode&sshdDDoS != 0:
		if preauth {
			ev.rule = "preauth-closed"
		}
		return byFrom
	case m.mode&sshdExtra != 0:
		// Extra mode replaces the helper rule: only a disconnect of a
		// named user before authentication is looked at, as a failure.
		if !disconnected || !hasUser || !preauth {
			return false
		}
		ev.rule = "preauth-closed"
	}
	return byFrom
}

// sshNegotiateWith parses HOST [port N] [on X]: no matching ALG found.
func sshNegotiateWith(b []byte, ev *sshEvent) bool {
	i := index(b, ": no matching ")
	if i < 0 {
		return false
	}
	host := stripSuffix(b[:i], 2, false)
	if len(host) == 0 || bytes.IndexByte(host, ' ') >= 0 {
		return false
	}
	rest := b[i+14:]
	if n := algMatch(rest); n == 0 || !hasPrefix(rest[n:], " found.") {
		return false
	}
	ev.rule, ev.host = "negotiate", host
	return true
}

// algMatch measures an algorithm kind of one to three words ("cipher",
// "key exchange method", "host key type") at the start of b, the last not
// followed by " found" being part of it.
func algMatch(b []byte) int {
	n := 0
	for words := 0; words < 3; words++ {
		j := n
		for j < len(b) && isWordByte(b[j]) {
			j++
		}
		if j == n {
			return 0
		}
		if j+6 <= len(b) && string(b[j:j+6]) == " found" || j == len(b) || b[j] != ' ' || words == 2 {
			return j
		}
		// A following word that is not "found" continues the name.
		n = j + 1
	}
	return 0
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// sshServerLtype parses "(Authname|Version|Kex);Remote: HOST-PORT;Word:".
func sshServerLtype(b []byte, ev *sshEvent) bool {
	var ok bool
	for _, k := range [...]string{"Authname;Remote: ", "Version;Remote: ", "Kex;Remote: "} {
		if b, ok = trimPrefix(b, k); ok {
			break
		}
	}
	if !ok {
		return false
	}
	i := bytes.IndexByte(b, ';')
	if i < 0 {
		return false
	}
	hp := b[:i]
	j := bytes.LastIndexByte(hp, '-')
	if j < 1 || !isDigits(hp[j+1:]) {
		return false
	}
	ev.host = hp[:j]
	return true
}
