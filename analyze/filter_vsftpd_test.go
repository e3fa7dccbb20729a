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
