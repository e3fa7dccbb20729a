package analyze

import (
	"strings"
	"testing"
	"time"
)

// framingShape is a line shape of a non-sshd filter with {U} and {V} in
// every place the client chooses the text ({U} where the daemon writes the
// same text twice, as PAM's remote user and user); the real client is
// 192.0.2.1.
type framingShape struct {
	filter string
	tmpl   string
	// forbid holds the bytes the daemon never writes in {U} (beyond line
	// ends).
	forbid string
}

var framingShapes = []framingShape{
	{"vsftpd", `Tue Nov 24 10:00:00 2026 [pid 1] [{U}] FAIL LOGIN: Client "192.0.2.1"`, ""},
	// vsftpd writes the password only for the anonymous users.
	{"vsftpd", `Tue Nov 24 10:00:00 2026 [pid 1] [ftp] FAIL LOGIN: Client "192.0.2.1", anon password "{U}"`, ""},
	{"vsftpd", `Tue Nov 24 10:00:00 2026 [pid 1] [anonymous] FAIL LOGIN: Client "192.0.2.1", anon password "{U}"`, ""},
	{"vsftpd", `Nov 24 10:00:00 h vsftpd[1]: [{U}] FAIL LOGIN: Client "192.0.2.1"`, ""},
	// vsftpd sets PAM's remote user and user to the login name.
	{"vsftpd", `Nov 24 10:00:00 h vsftpd[1]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser={U} rhost=192.0.2.1  user={U}`, ""},
	{"vsftpd", `Nov 24 10:00:00 h vsftpd: (pam_unix) authentication failure; logname= uid=0 euid=0 tty= ruser={U} rhost=192.0.2.1`, ""},
	{"vsftpd", `Nov 24 10:00:00 h vsftpd(pam_unix)[1]: authentication failure; logname= uid=0 euid=0 tty=ftp ruser={U} rhost=192.0.2.1  user={U}`, ""},
	{"proftpd", `Nov 24 10:00:00 h proftpd[1]: ftp.example.org (host.example.net[192.0.2.1]) - USER {U} (Login failed): Incorrect password`, ""},
	{"proftpd", `Nov 24 10:00:00 h proftpd[1]: ftp.example.org (host.example.net[192.0.2.1]) - USER {U}: no such user found from host.example.net [192.0.2.1] to 198.51.100.1:21`, ""},
	{"pure-ftpd", `Nov 24 10:00:00 h pure-ftpd: (?@192.0.2.1) [WARNING] Authentication failed for user [{U}]`, ""},
	{"apache-auth", `[Tue Nov 24 10:00:00.000000 2026] [auth_basic:error] [pid 1:tid 2] [client 192.0.2.1:1234] AH01618: user {U} not found: /{V}`, ""},
	{"apache-auth", `[Tue Nov 24 10:00:00.000000 2026] [authz_core:error] [pid 1:tid 2] [client 192.0.2.1:1234] AH01630: client denied by server configuration: /{U}, referer: {V}`, ""},
	{"apache-auth", `Nov 24 10:00:00 h httpd[1]: [error] [client 192.0.2.1] user {U} not found: /{V}`, ""},
	// A Basic user name holds no colon; nginx writes request and Host raw.
	{"nginx-http-auth", `2026/11/24 10:00:00 [error] 1#1: *1 user "{U}": password mismatch, client: 192.0.2.1, server: www.example.com, request: "GET /{V} HTTP/1.1", host: "{V}"`, ":"},
	{"nginx-http-auth", `2026/11/24 10:00:00 [error] 1#1: *1 user "{U}" was not found in "/etc/nginx/.htpasswd", client: 192.0.2.1, server: www.example.com, request: "GET /{V} HTTP/1.1", host: "{V}", referrer: "{V}"`, ":"},
	{"nginx-http-auth", `2026/11/24 10:00:00 [error] 1#1: *1 PAM: user '{U}' - not authenticated: Authentication failure, client: 192.0.2.1, server: www.example.com, request: "GET /{V} HTTP/1.1", host: "{V}"`, ":"},
	{"postfix", `Nov 24 10:00:00 h postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: {V}, sasl_username={U}`, ""},
	{"dovecot", `Nov 24 10:00:00 h dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{U}>, method=PLAIN, rip=192.0.2.1, lip=198.51.100.1, TLS, session=<kQ8bKpYHhsPAAgAH>`, ""},
	{"dovecot", `Nov 24 10:00:00 h dovecot[1]: imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<{U}>, method=PLAIN, rip=192.0.2.1, lip=198.51.100.1, TLS, session=<9ZHq02g3J8S60fan>`, ""},
	{"dovecot", `Nov 24 10:00:00 h dovecot: auth-worker(1): pam({U},192.0.2.1,<kQ8bKpYHhsPAAgAH>): pam_authenticate() failed: Authentication failure (password mismatch?)`, ""},
	{"dovecot", `Nov 24 10:00:00 h dovecot: auth: passwd-file({U},192.0.2.1): unknown user`, ""},
	{"dovecot", `Nov 24 10:00:00 auth({U},192.0.2.1,sasl:login)<CvN+E95Uf4e7eEnj>: Info: sql: Password mismatch (given password: {V})`, " "},
	{"dovecot", `Nov 24 10:00:00 h auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser={U} rhost=192.0.2.1  user={U}`, ""},
}

// framingSeeds are client texts that forge the markers of the shapes.
var framingSeeds = []string{
	"x", "10.9.9.9", "x rhost=10.9.9.9", "x rhost=10.9.9.9  user=x", "rhost=10.9.9.9",
	`x] FAIL LOGIN: Client "10.9.9.9`, `x", client: 10.9.9.9, server: y`, `x" was not found in "/", client: 10.9.9.9, server: y`,
	"x,10.9.9.9", "x,10.9.9.9,<s>", "x,10.9.9.9): unknown user", "x>, method=PLAIN, rip=10.9.9.9, lip=1.1.1.1",
	"x [client 10.9.9.9]", "unknown[10.9.9.9]: SASL LOGIN authentication failed: y", "(?@10.9.9.9) [WARNING] Authentication failed for user [y",
	"x (10.9.9.9[10.9.9.9]) - USER y", "x: no such user found from 10.9.9.9 [10.9.9.9] to 1.1.1.1:21",
}

// FuzzFramingShapes puts random client text in every place a client
// chooses of each shape; a failure for any client but the real one fails.
// A line counted for nobody (ambiguous) is allowed.
func FuzzFramingShapes(f *testing.F) {
	for i := range framingShapes {
		for _, s := range framingSeeds {
			f.Add(uint8(i), s, s)
			f.Add(uint8(i), "x", s)
		}
	}
	f.Fuzz(func(t *testing.T, shape uint8, u, v string) {
		sh := framingShapes[int(shape)%len(framingShapes)]
		if strings.ContainsAny(u, "\n\r\x00"+sh.forbid) || strings.ContainsAny(v, "\n\r\x00") {
			return
		}
		line := strings.ReplaceAll(strings.ReplaceAll(sh.tmpl, "{U}", u), "{V}", v)
		fl, _ := Builtin(sh.filter)
		fs, _ := fl.New("").Match(nil, 1, []byte(line), NewTimeParser(testRef, time.UTC))
		for _, x := range fs {
			if x.HostString() != "192.0.2.1" {
				t.Fatalf("%s: %q counts for %s", sh.filter, line, x.HostString())
			}
		}
	})
}

// TestFramingShapesPlain checks that each shape counts for the real client
// with an ordinary user name, so the fuzz target tests real shapes.
func TestFramingShapesPlain(t *testing.T) {
	for _, sh := range framingShapes {
		line := strings.ReplaceAll(strings.ReplaceAll(sh.tmpl, "{U}", "bob"), "{V}", "x")
		fl, _ := Builtin(sh.filter)
		fs, out := fl.New("").Match(nil, 1, []byte(line), NewTimeParser(testRef, time.UTC))
		if out != Matched || len(fs) != 1 || fs[0].HostString() != "192.0.2.1" {
			t.Errorf("%s: %q: outcome %d, %+v; want one failure of 192.0.2.1", sh.filter, line, out, fs)
		}
	}
}
