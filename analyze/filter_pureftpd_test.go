package analyze

import "testing"

func TestAgreementPureftpd(t *testing.T) {
	checkAgreement(t, "pure-ftpd", "pure-ftpd", []f2bDiff{
		{24, "203.0.113.70", "logjail", "rsyslog's \"message repeated 4 times\""},
	})
}

func TestFramingPureftpd(t *testing.T) { checkFraming(t, "pure-ftpd") }

func TestAllocsPureftpd(t *testing.T) {
	checkNoAllocs(t, "pure-ftpd", []string{
		"Nov 24 10:00:01 ftp pure-ftpd: (?@203.0.113.45) [INFO] New connection from 203.0.113.45",
		"Nov 24 10:02:00 ftp pure-ftpd: (?@198.51.100.60) [WARNING] Sorry, cleartext sessions and weak ciphers are not accepted on this server.",
		"Nov 24 10:02:50 ftp pure-ftpd: (?@203.0.113.72) [ERROR] Authentication failed for user [admin]",
		"Nov 24 10:03:00 ftp proftpd[1600]: ftp.example.org (203.0.113.73[203.0.113.73]) - USER admin (Login failed): Incorrect password",
		"not a log line at all",
	})
}

func FuzzFilterPureftpd(f *testing.F) { fuzzFilter(f, "pure-ftpd") }
