package analyze

import "testing"

func TestAgreementProftpd(t *testing.T) {
	checkAgreement(t, "proftpd", "proftpd", []f2bDiff{
		{23, "203.0.113.64", "logjail", "rsyslog's \"message repeated 2 times\""},
	})
}

func TestFramingProftpd(t *testing.T) { checkFraming(t, "proftpd") }

func TestAllocsProftpd(t *testing.T) {
	checkNoAllocs(t, "proftpd", []string{
		"Nov 24 09:57:14 ftp proftpd[1530]: ftp.example.org (198.51.100.23[198.51.100.23]) - USER webdev: Login successful.",
		"Nov 24 10:02:41 ftp proftpd[1647]: ftp.example.org (198.51.100.23[198.51.100.23]) - PAM(webdev): Authentication failure.",
		"2026-11-24 10:03:20,950 ftp proftpd[1651] ftp.example.org (203.0.113.65[203.0.113.65]): FTP session closed.",
		"Nov 24 10:04:10 ftp pure-ftpd: (?@198.51.100.78) [WARNING] Authentication failed for user [support]",
		"not a log line at all",
	})
}

func FuzzFilterProftpd(f *testing.F) { fuzzFilter(f, "proftpd") }
