package analyze

import "testing"

func TestAgreementPostfix(t *testing.T) {
	checkAgreement(t, "postfix", "postfix[mode=auth]", []f2bDiff{
		{17, "203.0.113.95", "logjail", "rsyslog's \"message repeated 3 times\""},
	})
}

func TestPostfixIgnored(t *testing.T) {
	f, _ := Builtin("postfix")
	for _, c := range []struct {
		line string
		want Outcome
	}{
		{"Nov 24 10:00:22 mail postfix/smtpd[2233]: warning: unknown[192.0.2.83]: SASL LOGIN authentication failed: Connection lost to authentication server", Ignored},
		{"Nov 24 10:00:36 mail postfix/smtpd[2240]: warning: unknown[203.0.113.97]: SASL PLAIN authentication failed: Invalid authentication mechanism", Ignored},
		{"Nov 24 10:00:24 mail postfix/smtpd[2234]: warning: unknown[192.0.2.84]: SASL XOAUTH2 authentication failed: invalid token", Missed},
		{"Nov 24 10:00:16 mail postfix/smtpd[2230]: warning: unknown[192.0.2.80]:49152: SASL login authentication failed: UGFzc3dvcmQ6", Matched},
	} {
		t.Run("", func(t *testing.T) {
			tp := NewTimeParser(testRef, nil)
			if _, got := f.New("").Match(nil, 1, []byte(c.line), tp); got != c.want {
				t.Errorf("%q: outcome %d, want %d", c.line, got, c.want)
			}
		})
	}
}

func TestPostfixProg(t *testing.T) {
	for _, c := range []struct {
		prog string
		want bool
	}{
		{"postfix/smtpd", true},
		{"postfix/submission/smtpd", true},
		{"postfix/smtps/smtpd", true},
		{"postfix-out/smtpd", true},
		{"postfix/smtpd/x", false},
		{"postfix", false},
		{"postfix/", false},
		{"postfix-/smtpd", false},
		{"postfixx/smtpd", false},
		{"sendmail", false},
	} {
		t.Run(c.prog, func(t *testing.T) {
			if got := isPostfixProg([]byte(c.prog)); got != c.want {
				t.Errorf("isPostfixProg(%q) = %v, want %v", c.prog, got, c.want)
			}
		})
	}
}

func TestFramingPostfix(t *testing.T) { checkFraming(t, "postfix") }

func TestAllocsPostfix(t *testing.T) {
	checkNoAllocs(t, "postfix", []string{
		"Nov 24 09:59:58 mail postfix/smtpd[2201]: connect from unknown[203.0.113.45]",
		"Nov 24 10:00:22 mail postfix/smtpd[2233]: warning: unknown[192.0.2.83]: SASL LOGIN authentication failed: Connection lost to authentication server",
		"Nov 24 10:00:30 mail postfix/smtpd[2237]: warning: hostname mail.example.org does not resolve to address 192.0.2.87: Name or service not known",
		"Nov 24 10:00:40 mail dovecot: auth: passwd-file(sales@example.com,203.0.113.98,<aBcDeF12>): Password mismatch",
		"not a log line at all",
	})
}

func FuzzFilterPostfix(f *testing.F) { fuzzFilter(f, "postfix") }
