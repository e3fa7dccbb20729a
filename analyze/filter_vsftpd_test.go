package analyze

import "testing"

func TestAgreementVsftpd(t *testing.T) {
	checkAgreement(t, "vsftpd", "vsftpd", []f2bDiff{
		{20, "198.51.100.99", "logjail", "FAIL LOGIN through syslog (syslog_enable=YES): fail2ban reads it only in vsftpd.log"},
		{22, "203.0.113.88", "logjail", "rsyslog's \"message repeated 3 times\""},
		{23, "203.0.113.89", "logjail", "vsftpd 2's FAIL LOGIN through syslog, with its own date"},
		{24, "203.0.113.90", "logjail", "old PAM tag vsftpd(pam_unix)"},
		{27, "198.51.100.140", "logjail", "FAIL LOGIN through syslog with an RFC 3339 time"},
	})
}

func TestFramingVsftpd(t *testing.T) { checkFraming(t, "vsftpd") }

func TestAllocsVsftpd(t *testing.T) {
	checkNoAllocs(t, "vsftpd", []string{
		`Tue Nov 24 09:58:04 2026 [pid 21343] [ftpuser] OK LOGIN: Client "198.51.100.23"`,
		`Nov 24 10:06:14 files vsftpd[21502]: pam_unix(vsftpd:auth): check pass; user unknown`,
		`Nov 24 10:06:44 files vsftpd[21520]: [sales] OK LOGIN: Client "198.51.100.99"`,
		`Nov 24 10:08:05 files sshd[21541]: Accepted publickey for root from 192.0.2.1 port 22 ssh2`,
		`not a log line at all`,
	})
}

func FuzzFilterVsftpd(f *testing.F) { fuzzFilter(f, "vsftpd") }

func TestPamAuthFailure(t *testing.T) {
	const pre = "logname= uid=0 euid=0 tty=ftp ruser="
	for _, c := range []struct {
		name, msg string
		oldPAM    bool
		host      string // "" for none
		user      string
		st        voteState
	}{
		{"user", pre + "bob rhost=192.0.2.1  user=bob", false, "192.0.2.1", "bob", voteOK},
		{"empty ruser", pre + " rhost=192.0.2.1  user=bob", false, "192.0.2.1", "bob", voteOK},
		{"no user", pre + " rhost=192.0.2.1 ", false, "192.0.2.1", "", voteOK},
		{"no user, no space", pre + " rhost=192.0.2.1", false, "192.0.2.1", "", voteOK},
		{"host name", pre + "bob rhost=client.example.net  user=bob", false, "client.example.net", "bob", voteOK},
		{"ruser differs", pre + "bob rhost=192.0.2.1  user=eve", false, "", "", voteNone},
		{"old form, the only reading", pre + "bob rhost=192.0.2.1 ", false, "192.0.2.1", "bob", voteOK},
		{"old form, forged rhost refused", pre + "x rhost=10.9.9.9 rhost=192.0.2.1 ", false, "", "", voteNone},
		{"current form, user ends in rhost=", pre + "x rhost=10.9.9.9 rhost=192.0.2.1  user=x rhost=10.9.9.9", false, "192.0.2.1", "x rhost=10.9.9.9", voteOK},
		{"old form", pre + "bob rhost=192.0.2.1 ", true, "192.0.2.1", "bob", voteOK},
		{"spaces in user", pre + "a b rhost=192.0.2.1  user=a b", false, "192.0.2.1", "a b", voteOK},
		{"forged rhost", pre + "x rhost=10.9.9.9 rhost=192.0.2.1  user=x rhost=10.9.9.9", false, "192.0.2.1", "x rhost=10.9.9.9", voteOK},
		{"two readings", pre + " rhost=192.0.2.1  user= rhost=10.9.9.9  user= rhost=192.0.2.1  user=", false, "", "", voteSplit},
		{"empty rhost", pre + "bob rhost=  user=bob", false, "", "", voteNone},
		{"not an address", pre + "bob rhost=a/b  user=bob", false, "", "", voteNone},
		{"wrong tty", "logname= uid=0 euid=0 tty=ssh ruser=bob rhost=192.0.2.1  user=bob", false, "", "", voteNone},
		{"missing key", "logname= uid=0 tty=ftp ruser=bob rhost=192.0.2.1  user=bob", false, "", "", voteNone},
	} {
		t.Run(c.name, func(t *testing.T) {
			host, user, st := pamAuthFailure([]byte(c.msg), c.oldPAM, "ftp", "")
			if st != c.st || (st == voteOK && (string(host) != c.host || string(user) != c.user)) {
				t.Errorf("pamAuthFailure(%q) = %q, %q, %d; want %q, %q, %d", c.msg, host, user, st, c.host, c.user, c.st)
			}
		})
	}
}
