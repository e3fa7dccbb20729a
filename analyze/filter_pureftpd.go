package analyze

import "bytes"

// The pure-ftpd filter counts what fail2ban 1.0's pure-ftpd filter counts:
// Pure-FTPd logs only to syslog, every message prefixed with the account
// ("?" before login) and the client, then the level:
//
//	pure-ftpd: (?@ADDR) [WARNING] Authentication failed for user [USER]
//
// The client stands before the message, so the user name cannot move it.
// The message is recognised in the languages Pure-FTPd ships.
//
// Where the address comes from: the "(?@HOST)" prefix only. HOST is what
// Pure-FTPd wrote: the client's address, or, unless it runs with -H
// (DontResolve; Debian's package does not set it), the name its reverse
// DNS gave, unverified, with every byte but letters, digits, '.', '-' and
// ':' made '_'. A name is reported as a name and never banned; but a client
// that controls its reverse zone can answer with a name that reads as
// another address ("192.0.2.1"), which no log line tells from the real
// one. Run Pure-FTPd with DontResolve when it feeds logjail (or fail2ban):
// then HOST is always the address, and clients with reverse DNS are
// counted at all.
//
// Deliberate differences from fail2ban 1.0.2: rsyslog's "message repeated
// N times" counts N failures; two mis-encoded CJK variants in fail2ban's
// list (Korean and simplified Chinese decoded with the wrong charset) are
// not recognised, as no log holds them in that form.

// pureFTPdFilter returns the built-in filter; builtins calls it at the first use.
func pureFTPdFilter() *Filter {
	return &Filter{
		Name:        "pure-ftpd",
		Rules:       []string{"auth-failed"},
		Sample:      "Nov 24 10:00:00 ftp pure-ftpd: (?@192.0.2.7) [WARNING] Authentication failed for user [admin]",
		Description: "Pure-FTPd: authentication failures through syslog, in every language it ships",
		New:         func(string) Matcher { return &pureftpdMatcher{} },
	}
}

// pureftpdMsgs are Pure-FTPd's "authentication failed" message in its
// languages, as the text before and after "[USER]".
var pureftpdMsgs = [...]struct{ pre, post string }{
	{"Authentication failed for user [", "]"},                  // en
	{"Authentifizierung fehlgeschlagen für Benutzer [", "]."},  // de
	{"Autentificación fallida para el usuario [", "]"},         // es
	{"Erreur d'authentification pour l'utilisateur [", "]"},    // fr
	{"[", "] c'est un batard, il connait pas son code"},        // fr (funny)
	{"Godkendelse mislykkedes for [", "]"},                     // da
	{"Azonosítás sikertelen [", "] felhasználónak"},            // hu
	{"Autenticazione falita per l'utente [", "]"},              // it
	{"Autorisatie faalde voor gebruiker [", "]"},               // nl
	{"Godkjennelse mislyktes for [", "]"},                      // no
	{"[", "] kullanýcýsý için giriþ hatalý"},                   // tr
	{"Autenticação falhou para usuário [", "]"},                // pt_br
	{"Autentificare esuata pentru utilizatorul [", "]"},        // ro
	{"Autentifikace uživatele selhala [", "]"},                 // cs
	{"Autentyfikacja nie powiodła się dla użytkownika [", "]"}, // pl
	{"Autentifikacia uzivatela zlyhala [", "]"},                // sk
	{"Behörighetskontroll misslyckas för användare [", "]"},    // sv
	{"Авторизация не удалась пользователю [", "]"},             // ru
	{"使用者[", "]驗證失敗"},                                          // zh_TW
}

type pureftpdMatcher struct{ h Header }

func (m *pureftpdMatcher) Match(dst []Failure, num int64, line []byte, tp *TimeParser) ([]Failure, Outcome) {
	h := &m.h
	if !tp.Syslog(line, h) || string(h.Prog) != "pure-ftpd" {
		return dst, Missed
	}
	msg := h.Msg
	if len(msg) == 0 || msg[0] != '(' {
		return dst, Missed
	}
	// "(ACCOUNT@HOST) [WARNING] ": neither part can hold ')' before login.
	k := bytes.IndexByte(msg, ')')
	if k < 0 {
		return dst, Missed
	}
	inner := msg[1:k]
	at := bytes.LastIndexByte(inner, '@')
	rest, ok := trimPrefix(msg[k:], ") [WARNING] ")
	if at <= 0 || !ok {
		return dst, Missed
	}
	host := inner[at+1:]
	rest = trimSpaceRight(rest)
	for _, s := range pureftpdMsgs {
		if len(rest) < len(s.pre)+len(s.post) || !hasPrefix(rest, s.pre) || !hasSuffix(rest, s.post) {
			continue
		}
		user := rest[len(s.pre) : len(rest)-len(s.post)]
		f, ok := newFailure(num, h.Time, host, user, "auth-failed")
		if !ok {
			return dst, Missed
		}
		return appendN(dst, f, h.Repeat), Matched
	}
	return dst, Missed
}
