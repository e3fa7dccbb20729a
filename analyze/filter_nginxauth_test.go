package analyze

import "testing"

func TestAgreementNginxAuth(t *testing.T) {
	checkAgreement(t, "nginx-http-auth", "nginx-http-auth", []f2bDiff{
		{10, "192.0.2.70", "logjail", "an HTTP/1.0 request without Host: fail2ban wants the host field"},
		{13, "192.0.2.73", "logjail", "a referrer with a space: fail2ban wants it without"},
		{15, "203.0.113.90", "logjail", "the error log sent to syslog"},
		{18, "192.0.2.120", "logjail", "ngx_http_auth_pam's failure (fail2ban reads it from 1.1.1 on, Debian's 1.0.2 not)"},
	})
}

func TestFramingNginxAuth(t *testing.T) { checkFraming(t, "nginx-http-auth") }

func TestAllocsNginxAuth(t *testing.T) {
	checkNoAllocs(t, "nginx-http-auth", []string{
		`2026/11/24 09:50:00 [notice] 812#812: nginx/1.22.1`,
		`2026/11/24 10:00:09 [error] 1403#1403: *1541 no user/password was provided for basic authentication, client: 198.51.100.18, server: www.example.com, request: "GET /private/ HTTP/1.1", host: "www.example.com"`,
		`Nov 24 10:00:27 web nginx: 2026/11/24 10:00:27 [error] 1406#1406: *1561 open() "/var/www/robots.txt" failed (2: No such file or directory), client: 203.0.113.91, server: www.example.com, request: "GET /robots.txt HTTP/1.1", host: "www.example.com"`,
		`Nov 24 10:00:27 web sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2`,
		`not a log line at all`,
	})
}

func FuzzFilterNginxAuth(f *testing.F) { fuzzFilter(f, "nginx-http-auth") }
