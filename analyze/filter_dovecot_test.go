package analyze

import (
	"testing"
	"time"
)

func TestAgreementDovecot(t *testing.T) {
	checkAgreement(t, "dovecot", "dovecot", []f2bDiff{
		{25, "203.0.113.99", "logjail", "rsyslog's \"message repeated 2 times\""},
		{30, "192.0.2.241", "logjail", "Dovecot 2.4's \"Login aborted\" (fail2ban 1.1.1 reads it, Debian's 1.0.2 not)"},
		{31, "192.0.2.242", "logjail", "Dovecot 2.4's \"Login aborted\""},
		{32, "192.0.2.110", "logjail", "Dovecot 2.4's auth(U,ADDR,SERVICE:MECH) event prefix (fail2ban 1.1.1)"},
		{33, "192.0.2.111", "logjail", "Dovecot 2.4's auth(U,ADDR,SERVICE:MECH) event prefix through syslog"},
	})
}

func TestFramingDovecot(t *testing.T) { checkFraming(t, "dovecot") }

func TestAllocsDovecot(t *testing.T) {
	checkNoAllocs(t, "dovecot", []string{
		"Nov 24 09:59:58 mail dovecot: imap-login: Login: user=<alice@example.com>, method=PLAIN, rip=198.51.100.23, lip=192.0.2.10, mpid=3120, TLS, session=<aW2M3kVHtsPGYm4X>",
		"Nov 24 10:00:19 mail dovecot: imap-login: Disconnected: Inactivity (no auth attempts in 180 secs): user=<>, rip=198.51.100.21, lip=192.0.2.10, TLS handshaking: Disconnected, session=<c3D4e5F6tMPGYm5C>",
		"Nov 24 10:00:43 mail dovecot: auth-worker(3157): Error: sql(grace,203.0.113.97,<h8I9j0K1tMPGYm5I>): Password query failed: Not connected to database",
		"Nov 24 10:00:37 mail dovecot: imap(alice@example.com)<3120><aW2M3kVHtsPGYm4X>: Disconnected: Logged out in=152 out=1204",
		"Nov 24 10:00:00 mail postfix/smtpd[2201]: warning: unknown[203.0.113.45]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
		"not a log line at all",
	})
}

func FuzzFilterDovecot(f *testing.F) { fuzzFilter(f, "dovecot") }

func TestDovecotCause(t *testing.T) {
	for _, c := range []struct {
		in, fields string // fields "-" for nil
	}{
		{"auth failed, 1 attempts in 2 secs): user=<a>", " user=<a>"},
		{"auth failed, 12 attempts): rip=192.0.2.1", " rip=192.0.2.1"},
		{"auth failed, 1 attempt): rip=192.0.2.1", "-"},
		{"auth failed, x attempts): rip=192.0.2.1", "-"},
		{"auth failed, 1 attempts in secs): rip=192.0.2.1", "-"},
		{"tried to use disallowed plaintext auth): user=<>", " user=<>"},
		{"tried to use disabled PLAIN auth): user=<>", " user=<>"},
		{"tried to use disabled auth): user=<>", "-"},
		{"proxy dest auth failed): user=<a>", " user=<a>"},
		{"no auth attempts in 180 secs): user=<>", "-"},
		{"auth failed, 1 attempts in 2 secs) user=<a>", "-"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got := dovecotCause([]byte(c.in))
			if s := string(got); (got == nil && c.fields != "-") || (got != nil && s != c.fields) {
				t.Errorf("dovecotCause(%q) = %q, want %q", c.in, got, c.fields)
			}
		})
	}
}

// TestAmbiguousSkipped checks that a line whose readings name different
// clients is skipped as Ambiguous, for each filter that can say so.
func TestAmbiguousSkipped(t *testing.T) {
	for _, c := range []struct{ filter, line string }{
		{"dovecot", "Nov 24 10:00:00 h dovecot: auth: passwd-file(x,10.9.9.9): unknown user,192.0.2.1): unknown user"},
		{"dovecot", "Nov 24 10:00:00 h auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser= rhost=192.0.2.1  user= rhost=10.9.9.9  user= rhost=192.0.2.1  user="},
		{"vsftpd", `Tue Nov 24 10:00:00 2026 [pid 1] [ftp] FAIL LOGIN: Client "10.9.9.9", anon password "x] FAIL LOGIN: Client "192.0.2.1"`},
	} {
		f, _ := Builtin(c.filter)
		fs, out := f.New("").Match(nil, 1, []byte(c.line), NewTimeParser(testRef, time.UTC))
		if out != Ambiguous || len(fs) != 0 {
			t.Errorf("%s: %q: outcome %d, %d failures; want Ambiguous, none", c.filter, c.line, out, len(fs))
		}
	}
}
