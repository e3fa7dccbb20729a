package analyze

import (
	"testing"
	"time"
)

// TestDebian12Format runs each non-sshd filter on a line in Debian 12's
// default rsyslog format (RFC 3339 with microseconds and the offset), and
// the time forms of the other writers: TAI64N (daemontools, runit, s6),
// ISO 8601 without a zone, Unix seconds.
func TestDebian12Format(t *testing.T) {
	const stamp = "2026-11-24T10:00:00.123456+01:00"
	want := time.Date(2026, 11, 24, 9, 0, 0, 123456000, time.UTC)
	for _, c := range []struct {
		filter, line string
		want         time.Time
	}{
		{"vsftpd", stamp + " ftp vsftpd[1]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=192.0.2.7  user=bob", want},
		{"vsftpd", stamp + ` ftp vsftpd[1]: [bob] FAIL LOGIN: Client "192.0.2.7"`, want},
		{"proftpd", stamp + " ftp proftpd[4242]: ftp.example.com (192.0.2.7[192.0.2.7]) - USER admin (Login failed): Incorrect password", want},
		{"pure-ftpd", stamp + " ftp pure-ftpd: (?@192.0.2.7) [WARNING] Authentication failed for user [admin]", want},
		{"apache-auth", stamp + " web apache2[1]: [auth_basic:error] [pid 1] [client 192.0.2.7:51234] AH01618: user admin not found: /private/", want},
		{"nginx-http-auth", stamp + ` web nginx: 2026/11/24 09:00:00 [error] 1#1: *7 user "admin": password mismatch, client: 192.0.2.7, server: example.com, request: "GET / HTTP/1.1", host: "example.com"`, want},
		{"postfix", stamp + " mail postfix/submission/smtpd[4242]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", want},
		{"dovecot", stamp + " mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<admin>, method=PLAIN, rip=192.0.2.7, lip=198.51.100.1, TLS, session=<kQ8bKpYHhsPAAgAH>", want},
		{"dovecot", "@400000006b05602a075bcd15 dovecot-auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=192.0.2.7  user=bob",
			time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)},
		{"dovecot", "2026-11-24 10:00:00 auth-worker(default): Info: pam(bob,192.0.2.7): pam_authenticate() failed: Authentication failure (password mismatch?)",
			time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
		{"pure-ftpd", "1795514400 ftp pure-ftpd: (?@192.0.2.7) [WARNING] Authentication failed for user [admin]",
			time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
	} {
		f, _ := Builtin(c.filter)
		fs, out := f.New("").Match(nil, 1, []byte(c.line), NewTimeParser(testRef, time.UTC))
		if out != Matched || len(fs) != 1 || fs[0].HostString() != "192.0.2.7" || !fs[0].Time.Equal(c.want) {
			t.Errorf("%s: %q: outcome %d, failures %+v; want one for 192.0.2.7 at %v", c.filter, c.line, out, fs, c.want)
		}
	}
}
