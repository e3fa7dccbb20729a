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
// Besides the usual syslog, RFC 5424 and journal text forms, the old tag
// "[sshd]" without pid (with or without a colon) is read, and a "kernel:
// [SECONDS]" prefix before the message is skipped.
//
// # Where the address is read
//
// OpenSSH writes text the client chose into its messages: the user name,
// the auth info after "ssh2: " (a certificate's key ID, the hostbased
// client user, keyboard-interactive devices, the ssh1 ruser), the second
// user name and services of a change of user, disconnect reasons, version
// strings, algorithm offers. That text may imitate any message, so the
// address is read only where sshd itself writes it, shape by shape:
//
//   - Client text only after the address ("Received disconnect from A port
//     N:C: REASON", "Unable to negotiate with A port N: ... Their offer:
//     X", "SSH: Server;Ltype: ...;Remote: A-N;...;Client: X", "Connection
//     from A port N on B port M", "Did not receive identification string
//     from A", "ROOT LOGIN REFUSED FROM A", "banner exchange: Connection
//     from A port N: invalid format"): the address is the first word
//     after sshd's fixed words.
//   - Client text only before it, sshd's fixed suffix after ("Invalid user
//     U from A port N", "User U from A not allowed because REASON",
//     "maximum authentication attempts exceeded for U from A port N ssh2",
//     "PAM: Authentication failure for U from A", "Connection closed by
//     (invalid|authenticating) user U A port N", "Disconnected from ...
//     user U A port N", "Bad protocol version identification 'X' from A
//     port N", "refused connect from NAME (A)"): the address is the word
//     just before the suffix, read from the end.
//   - Client text on both sides: "(Failed|Accepted) METHOD for [invalid
//     user ]U from A port N ssh2[: INFO]", the PAM line "... ruser=U
//     rhost=A [ user=U]", and "Disconnecting (invalid|authenticating) user
//     U A port N: Change of username or service not allowed: (U,S) ->
//     (U2,S2)". Every place where the rest of the line fits sshd's format
//     is a candidate, less those that the format rules out: a user name
//     over the 100 bytes sshd writes of it (%.100s; counted in bytes the
//     client sent, an escape \ooo being one), a change-of-user message
//     over sshd's 100 bytes (%.100s) or not repeating the user name, a
//     public key's info not of sshd's form ("TYPE FP", or "TYPE FP ID X
//     (serial N) CA TYPE FP"), a place without " port N" when another
//     has one (sshd has written the port since OpenSSH 2). When the rest
//     name one client, it is read. When they name several, the one equal
//     in address and client port to what the same process named before,
//     on a line that left no doubt, is read: "Connection from A port N"
//     (logged at LogLevel VERBOSE) or an earlier "Invalid user" or
//     failure "from A port N". A candidate or a context without
//     a port (the PAM line writes none) confirms nothing, so the stale
//     context of an earlier process under a reused pid (its end line not
//     logged, within the 10 minutes a context lives) confirms no forged
//     candidate unless the client also wrote that process's source port.
//     Otherwise the line is skipped, never guessed: the outcome is
//     Ambiguous, which "filter test" and replay's report count as
//     ambiguous lines skipped. A skipped line also drops the address the
//     context holds, since the line leaves in doubt whether it is still
//     the process's client: a later failure naming no address ("Too many
//     authentication failures") waits for a line that settles it.
//
// Host names (UseDNS) are reported as written and never resolved.
//
// # Deliberate differences from fail2ban 1.0.2
//
//   - rsyslog's "message repeated N times: [ ... ]" counts N failures
//     (fail2ban counts none: its prefix does not expect the wrapper);
//   - the old PAM tag "sshd(pam_unix)[pid]: authentication failure; ...
//     rhost=HOST" counts as a failure: sshd of that era logged nothing else
//     for a failed password;
//   - the process context follows log time (entries expire after 10 minutes
//     of silence, 4096 at most) instead of the wall clock, so replaying an
//     old log gives the same answer as reading it live;
//   - a line with client text on both sides of the address that nothing
//     settles is skipped (fail2ban's regular expressions take one reading);
//   - on fail2ban's annotated samples (TestFail2banSamples, 510 of 514
//     runs of line and mode agree, every injection case among them), the
//     four runs that differ are sshd:5 and sshd-journal:9 in the normal
//     and aggressive modes: "192.030.0.6" is no address (inet_pton refuses
//     the leading zero, inet_aton reads 030 as octal 24) and no host name,
//     so logjail does not count it rather than guess which machine it is.

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

// sshdFilter returns the built-in filter; builtins calls it at the first use.
func sshdFilter() *Filter {
	return &Filter{
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
	}
}

// sshEvent is what one line says, before the process context is applied.
type sshEvent struct {
	rule string // failure rule; "" for a helper line
	host []byte // the client as written, nil when the line does not say
	user []byte
	hasU bool    // the line names a user (even an empty one)
	port sshPort // the client port sshd wrote after host, 0 when none
	// Other places the address may stand in the line, with the user name
	// each implies: client text on both sides of the address. apply picks
	// the one the process's known address confirms, or skips the line.
	// alts points to the matcher's storage, so that an event stays small.
	alts  *[sshMaxAlts]sshAlt
	nalts int
	// more: there were more candidates than alts holds.
	more   bool
	forget bool // the line ends the process's attempt
	gained bool // the login succeeded
}

// sshAlt is a further candidate for the client's address.
type sshAlt struct {
	host, user []byte
	port       sshPort
}

// sshPort is a client port as sshd writes it after the address, plus one,
// so that the zero value means "none written".
type sshPort uint32

// parsePort reads the digits of " port N"; 0 when b is no port number.
func parsePort(b []byte) sshPort {
	if len(b) == 0 || len(b) > 5 {
		return 0
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0
	}
	return sshPort(n + 1)
}

const sshMaxAlts = 3

// candidate records host (with the user name it implies) as a place the
// client's address may stand; the first goes to ev.host and ev.user.
func (ev *sshEvent) candidate(host, user []byte, port sshPort) {
	switch {
	case ev.host == nil:
		ev.host, ev.user, ev.hasU, ev.port = host, user, user != nil, port
	case ev.nalts < sshMaxAlts:
		ev.alts[ev.nalts] = sshAlt{host, user, port}
		ev.nalts++
	default:
		ev.more = true
	}
}

// sshProc is the context kept per sshd process.
type sshProc struct {
	addr        netip.Addr
	port        sshPort // the client port sshd wrote with addr, 0 if none
	name        string  // host name, when only a name is known
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
	// alts holds the current line's further address candidates.
	alts [sshMaxAlts]sshAlt
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
	if !tp.Syslog(line, h) {
		if !bracketTag(line, tp, h) {
			return dst, Missed
		}
	} else if !isSSHDProg(h.Prog) && string(h.Prog) != "[sshd]" {
		return dst, Missed
	}
	msg := h.Msg
	if len(msg) > 0 && msg[0] == 'k' {
		msg = stripKernel(msg)
	}
	ev := sshEvent{alts: &m.alts}
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

// bracketTag parses the old form "TIME [sshd] MSG": a tag in brackets,
// no host, no pid, no colon (fail2ban's samples keep it).
func bracketTag(line []byte, tp *TimeParser, h *Header) bool {
	t, n, ok := tp.Parse(line)
	if !ok {
		return false
	}
	msg, ok := trimPrefix(line[n:], " [sshd] ")
	if !ok {
		return false
	}
	*h = Header{Time: t, Prog: line[n+1 : n+7], Msg: msg, Repeat: 1}
	return true
}

// stripKernel removes "kernel:[ SECONDS]:" or "kernel: [SECONDS] " from
// the start of msg: a journal export of some systems puts it there.
func stripKernel(msg []byte) []byte {
	b, ok := trimPrefix(msg, "kernel:")
	if !ok {
		return msg
	}
	b, _ = trimPrefix(b, " ")
	if len(b) == 0 || b[0] != '[' {
		return msg
	}
	i := bytes.IndexByte(b, ']')
	if i < 0 {
		return msg
	}
	b, _ = trimPrefix(b[i+1:], ":")
	b, _ = trimPrefix(b, " ")
	return b
}

// apply merges ev into its process's context and emits the failures it
// completes.
func (m *sshdMatcher) apply(dst []Failure, num int64, h *Header, ev *sshEvent) ([]Failure, Outcome) {
	var addr netip.Addr
	var name string
	if ev.nalts > 0 || ev.more {
		if !m.resolve(h, ev) {
			return dst, Ambiguous
		}
	}
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
			if ev.port != 0 {
				p.port = ev.port
			} else if p.port != 0 && addr != p.addr {
				p.port = 0
			}
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

// resolve settles a line on which the address may stand in more than one
// place (client text on both sides of it). Candidates that are no address
// or host name drop out. The one equal in address and client port to what
// the same process named earlier, on a line that left no doubt, is taken
// (a candidate or a context without a port confirms nothing: a stale
// context of an earlier process under a reused pid must not confirm the
// earlier client's address written into client text); else, when the rest
// all name one client, that is it. Otherwise the line is ambiguous:
// resolve returns false and the caller skips it, and the context's address
// is dropped: the line leaves in doubt whether it is still the process's
// client (a reused pid's stale context is not), and a later failure that
// names no address must not be counted for it.
func (m *sshdMatcher) resolve(h *Header, ev *sshEvent) bool {
	var known netip.Addr
	var knownPort sshPort
	p := m.procs.Get(m.procKey(h))
	if p != nil && h.Time.UnixNano()-p.seen > int64(sshProcIdle) {
		p = nil
	}
	if p != nil && p.port != 0 {
		known, knownPort = p.addr, p.port
	}
	cands := append(make([]sshAlt, 0, sshMaxAlts+1), sshAlt{ev.host, ev.user, ev.port})
	cands = append(cands, ev.alts[:ev.nalts]...)
	var first sshAlt
	var firstAddr netip.Addr
	var firstName string
	distinct := 0
	for _, c := range cands {
		a, name, ok := hostOf(c.host)
		switch {
		case !ok:
		case known.IsValid() && a == known && c.port == knownPort:
			ev.host, ev.user, ev.hasU, ev.port, ev.nalts, ev.more = c.host, c.user, c.user != nil, c.port, 0, false
			return true
		case distinct == 0:
			first, firstAddr, firstName, distinct = c, a, name, 1
		case a != firstAddr || name != firstName:
			distinct++
		case c.port != first.port:
			first.port = 0 // one client, but which port is not settled
		}
	}
	if distinct != 1 || ev.more {
		if p != nil {
			p.addr, p.port, p.name = netip.Addr{}, 0, ""
		}
		return false
	}
	ev.host, ev.user, ev.hasU, ev.port, ev.nalts = first.host, first.user, first.user != nil, first.port, 0
	return true
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
			// "Connection from A port N on B port M": sshd's words
			// only, so the client port is settled too.
			var r []byte
			ev.host, r = firstWord(b)
			if r, ok := trimPrefix(r, "port "); ok {
				n, _ := firstWord(r)
				ev.port = parsePort(n)
			}
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
	b, _ = stripSuffixPort(b, max, preauth)
	return b
}

// stripSuffixPort is stripSuffix that also returns the port of the
// "port N" nearest the address (0 when none was removed).
func stripSuffixPort(b []byte, max int, preauth bool) (_ []byte, port sshPort) {
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
			return b, port
		case string(kw) == "port" && isDigits(last):
			b, port = rest2, parsePort(last)
		case string(kw) == "on" && len(last) > 0:
			b = rest2
		default:
			return b, port
		}
	}
	return b, port
}

// fromAtEnd parses "USER from HOST" + suffix, where nothing but sshd's own
// suffix may follow the address.
func fromAtEnd(b []byte, rule string, ev *sshEvent) bool {
	b, port := stripSuffixPort(b, 3, true)
	i := lastIndex(b, " from ")
	if i < 0 {
		return false
	}
	host := b[i+6:]
	if len(host) == 0 || bytes.IndexByte(host, ' ') >= 0 {
		return false
	}
	ev.rule, ev.host, ev.user, ev.hasU, ev.port = rule, host, b[:i], true, port
	return true
}

// sshFailed parses what follows "Failed ": METHOD for [invalid user ]USER
// from HOST [port N] [ssh2][: INFO], sshd's auth_log line.
func sshFailed(b []byte, ev *sshEvent) bool {
	method, rest := firstWord(b)
	rest, ok := trimPrefix(rest, "for ")
	if !ok || len(method) == 0 {
		return false
	}
	rest, invalid := trimPrefix(rest, "invalid user ")
	if !sshAuthLog(rest, string(method) == "publickey", ev) {
		return false
	}
	if string(method) == "publickey" && !invalid {
		return true // a failed key of a real user is no attack: helper line
	}
	ev.rule = "failed"
	return true
}

// sshAccepted parses what follows "Accepted ": METHOD for USER from HOST
// [port N] [ssh2][: INFO].
func sshAccepted(b []byte, ev *sshEvent) bool {
	method, rest := firstWord(b)
	rest, ok := trimPrefix(rest, "for ")
	if !ok || !sshAuthLog(rest, string(method) == "publickey", ev) {
		return false
	}
	ev.forget, ev.gained = true, true
	return true
}

// sshAuthLog reads USER " from " HOST [" port " N] [" ssh1"|" ssh2"]
// [": " INFO], as sshd's auth_log writes it ("%.100s from %.200s port %d
// ssh2%s%s"). The client chose both USER and INFO (a key's certificate
// ID, the hostbased client user, the keyboard-interactive devices, the
// ssh1 ruser), so " from HOST port N ssh2" may stand more than once. Each
// place where the rest of the line fits the format is a candidate, except
// where the user name before it would be longer than the 100 bytes sshd
// writes at most, or where the info after it does not have the form sshd
// gives a public key's (key says the method is publickey), or, when some
// candidate has a port, where there is none; apply takes the remaining
// candidate, or the one the process's known address confirms, or skips
// the line as ambiguous.
func sshAuthLog(rest []byte, key bool, ev *sshEvent) bool {
	// Most lines end " from HOST port N ssh2" with no " from " in the
	// user name: one candidate, found from the end.
	if i := fromBeforePortSSH2(rest); i >= 0 && i <= 100 && indexSpaced(rest[:i], "from ") < 0 {
		host, _ := firstWord(rest[i+6:])
		ev.candidate(host, rest[:i], parsePort(rest[i+12+len(host):len(rest)-5]))
		return true
	}
	ported := false
	for i := 0; ; i++ {
		j := indexSpaced(rest[i:], "from ")
		if j < 0 {
			break
		}
		i += j
		host, digits, ok := authLogTail(rest[i+6:], key)
		port := digits != nil
		if !ok || (i > 100 && loggedLen(rest[:i]) > 100) || (ported && !port) {
			continue
		}
		next := i + 5 + len(host) // the host holds no space: skip it
		if port && !ported {
			// sshd has written the port since OpenSSH 2: a place
			// without one is the client's when another has it.
			ported = true
			ev.host, ev.nalts, ev.more = nil, 0, false
		}
		ev.candidate(host, rest[:i], parsePort(digits))
		i = next
	}
	return ev.host != nil
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

// authLogTail returns HOST when b is HOST [" port " N] [" ssh1"|" ssh2"]
// followed by the end of the line (" [preauth]" allowed) or, after the
// protocol, by ":" and the auth info (of a key's form when key is true);
// port holds the digits of " port N", nil when there was none.
func authLogTail(b []byte, key bool) (host, port []byte, ok bool) {
	host = b
	var r []byte
	if i := spaceIndex(b); i >= 0 {
		host, r = b[:i], b[i:]
	}
	if len(host) == 0 {
		return nil, nil, false
	}
	if p, ok := trimPrefix(r, " port "); ok {
		j := 0
		for j < len(p) && isDigit(p[j]) {
			j++
		}
		if j == 0 {
			return nil, nil, false
		}
		r, port = p[j:], p[:j]
	}
	if hasPrefix(r, " ssh1") || hasPrefix(r, " ssh2") {
		if r = r[5:]; len(r) > 0 && r[0] == ':' {
			return host, port, !key || keyInfo(r[1:])
		}
	}
	r = trimSpaceRight(r)
	if p, ok := trimSuffix(r, " [preauth]"); ok {
		r = trimSpaceRight(p)
	}
	return host, port, len(r) == 0
}

// keyInfo reports whether b (after "ssh2:") is what sshd writes for a
// public key: " TYPE FINGERPRINT", or for a certificate " TYPE FP ID
// KEYID (serial N) CA TYPE FP", the key ID being the client's.
func keyInfo(b []byte) bool {
	b = trimSpaceRight(b)
	if p, ok := trimSuffix(b, " [preauth]"); ok {
		b = trimSpaceRight(p)
	}
	b, ok := trimPrefix(b, " ")
	if !ok {
		return false
	}
	typ, fp := firstWord(b)
	if len(typ) == 0 || len(fp) == 0 {
		return false
	}
	if spaceIndex(fp) < 0 {
		return true
	}
	_, rest := firstWord(fp)
	if !hasPrefix(rest, "ID ") {
		return false
	}
	rest, cafp := lastWord(rest)
	rest, _ = lastWord(rest)
	rest, ca := lastWord(rest)
	return len(cafp) > 0 && string(ca) == "CA" && hasSuffix(rest, ")") && index(rest, " (serial ") > 0
}

// indexSpaced returns the index of " "+w in b, or -1. The texts searched
// are short: a plain loop beats IndexByte's calls.
func indexSpaced(b []byte, w string) int {
	c := w[0]
	for i := 1; i+len(w) <= len(b); i++ {
		if b[i] == c && b[i-1] == ' ' && b[i+1] == w[1] && string(b[i:i+len(w)]) == w {
			return i - 1
		}
	}
	return -1
}

// loggedLen is the fewest bytes the client can have sent for text as
// logged: sshd writes a byte it will not print as \ooo or \c (strnvis),
// rsyslog a control character as #ooo.
func loggedLen(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\' && i+3 < len(b) && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]):
			i += 3
		case b[i] == '#' && i+3 < len(b) && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]):
			i += 3
		case b[i] == '\\' && i+1 < len(b):
			i++
		}
		n++
	}
	return n
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

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
// up to four of logname=, uid=, euid=, tty= (the server's), then
// "ruser=RUSER rhost=RHOST" and an optional " user=USER". sshd hands PAM
// the client's user name, so RUSER and USER are the client's text, on
// both sides of rhost=: every " rhost=" followed by one word and then the
// end or "user=" is a candidate, resolved as in sshAuthLog.
func pamFields(b []byte, ev *sshEvent) bool {
	var f []byte
	for n := 0; ; n++ {
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		if len(b) == 0 || n > 4 {
			return false
		}
		if hasPrefix(b, "ruser=") {
			break
		}
		f, b = firstWord(b)
		if !hasPrefix(f, "logname=") && !hasPrefix(f, "uid=") && !hasPrefix(f, "euid=") && !hasPrefix(f, "tty=") {
			return false
		}
	}
	r := b[len("ruser="):]
	for i := 0; ; i++ {
		j := indexSpaced(r[i:], "rhost=")
		if j < 0 {
			break
		}
		i += j
		if host, user, ok := pamTail(r[i+7:]); ok {
			if user == nil && i > 0 {
				user = r[:i] // no user=: the name is in ruser
			}
			ev.candidate(host, user, 0) // PAM writes no port
			i += 6 + len(host)          // the host holds no space: skip it
		}
	}
	return ev.host != nil
}

// pamTail splits what follows "rhost=": HOST, then the end (" [preauth]"
// allowed) or one or two spaces and "user=USER".
func pamTail(b []byte) (host, user []byte, ok bool) {
	host, rest := firstWord(b)
	if len(host) == 0 {
		return nil, nil, false
	}
	rest = trimSpaceRight(rest)
	if p, ok := trimSuffix(rest, "[preauth]"); ok {
		rest = trimSpaceRight(p)
	}
	if len(rest) == 0 {
		return host, nil, true
	}
	rest, _ = trimPrefix(rest, " ")
	if u, ok := trimPrefix(rest, "user="); ok {
		return host, u, true
	}
	return nil, nil, false
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
	var port sshPort
	if c, ok := trimSuffix(b, " ssh2"); ok {
		b, port = stripSuffixPort(c, 2, false)
	}
	b, _ = trimPrefix(b, "invalid user ")
	if !fromAtEnd(b, "max-attempts", ev) {
		return false
	}
	if ev.port == 0 {
		ev.port = port
	}
	return true
}

// sshChangeUser parses what follows "Disconnecting ": [from ](invalid|
// authenticating) user USER HOST [port N]: MSG [preauth], MSG being
// "Change of username or service not allowed: (USER,svc) -> (other,svc)"
// cut at 100 bytes (sshd logs "Disconnecting %s: %.100s"). The client
// chose the user names and services on both sides of HOST. A candidate is
// each place where what follows ": " fits in those 100 bytes and repeats
// the user name before the address.
func sshChangeUser(b []byte, ev *sshEvent) bool {
	b, _ = trimPrefix(b, "from ")
	var ok bool
	if b, ok = trimPrefix(b, "invalid user "); !ok {
		if b, ok = trimPrefix(b, "authenticating user "); !ok {
			return false
		}
	}
	const what = ": Change of username or service not allowed: ("
	for i := 0; ; i++ {
		j := bytes.Index(b[i:], []byte(what))
		if j < 0 {
			break
		}
		i += j
		msg := trimSpaceRight(b[i+2:])
		if p, ok := trimSuffix(msg, " [preauth]"); ok {
			msg = p
		}
		if loggedLen(msg) > 100 {
			continue // the client's text follows: an earlier place is sshd's
		}
		head := b[:i]
		var port sshPort
		if r, n := lastWord(head); isDigits(n) {
			if r, ok := trimSuffix(r, " port"); ok {
				head, port = r, parsePort(n)
			}
		}
		user, host := lastWord(head)
		if user == nil || len(host) == 0 {
			continue
		}
		// The message repeats the user name, unless cut short before.
		t := msg[len(what)-2:]
		if len(t) > len(user) {
			if string(t[:len(user)]) != string(user) || t[len(user)] != ',' {
				continue
			}
		} else if string(user[:len(t)]) != string(t) {
			continue
		}
		ev.candidate(host, user, port)
	}
	if ev.host == nil {
		return false
	}
	ev.rule, ev.forget = "change-user", true
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
