package analyze

import "testing"

func TestAgreementApacheAuth(t *testing.T) {
	checkAgreement(t, "apache-auth", "apache-auth", []f2bDiff{
		{23, "2001:db8:1::46", "logjail", "Apache 2.4 writes an IPv6 client as ADDR:PORT without brackets; logjail cuts the port"},
		{23, "2001:db8:1::46:8443", "fail2ban", "fail2ban reads the 4-digit port as the address's last group"},
	})
}

func TestFramingApacheAuth(t *testing.T) { checkFraming(t, "apache-auth") }

func TestAllocsApacheAuth(t *testing.T) {
	checkNoAllocs(t, "apache-auth", []string{
		"[Tue Nov 24 09:50:00.114391 2026] [core:notice] [pid 801:tid 140244188751744] AH00094: Command line: '/usr/sbin/apache2'",
		"[Tue Nov 24 10:00:35.000000 2026] [core:error] [pid 1528:tid 140244048160448] [client 198.51.100.43:50004] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
		"[Tue Nov 24 10:00:37.000000 2026] [evasive20:error] [pid 1528:tid 140244048160448] [client 198.51.100.44:50005] client denied by server configuration: /index.html",
		"[Sun Nov 22 04:47:58 2026] [error] [client 192.0.2.64] File does not exist: /var/www/favicon.ico",
		"Nov 24 10:00:00 web sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2",
		"not a log line at all",
	})
}

func TestApacheClient(t *testing.T) {
	for _, c := range []struct {
		in   string
		v24  bool
		want string
	}{
		{"192.0.2.1", false, "192.0.2.1"},
		{"192.0.2.1:5678", true, "192.0.2.1"},
		{"192.0.2.1:5678", false, "192.0.2.1"},
		{"2001:db8::1:8443", true, "2001:db8::1"},
		{"2001:db8::1:8443", false, "2001:db8::1:8443"},
		{"2001:db8::1", true, "2001:db8::1"},
		{"::ffff:192.0.2.1:80", true, "192.0.2.1"},
		{"[2001:db8::1]:80", true, "2001:db8::1"},
		{"host.example.net", false, "invalid IP"},
	} {
		t.Run(c.in, func(t *testing.T) {
			a, _ := apacheClient([]byte(c.in), c.v24)
			if a.String() != c.want {
				t.Errorf("apacheClient(%q, %v) = %v, want %s", c.in, c.v24, a, c.want)
			}
		})
	}
}

func FuzzFilterApacheAuth(f *testing.F) { fuzzFilter(f, "apache-auth") }
