package config

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"logjail/analyze"
)

func TestFilterStyleFail2ban(t *testing.T) {
	src := `
jails:
  myapp:
    logpath: [/var/log/myapp.log]
    filter:
      failregex: ['^ (?:\S+ )?myapp\[\d+\]: login failed for <F-USER>\S+</F-USER> from <HOST>$']
      style: fail2ban
      prefregex: '^.*$'
      ignoreregex: ['from 10\.']
      datepattern: '^%Y-%m-%d %H:%M:%S'
`
	c := mustParse(t, src)
	j := c.Jail("myapp")
	if j == nil || j.Fail2ban == nil {
		t.Fatalf("jail myapp: no fail2ban filter: %+v", j)
	}
	tp := analyze.NewTimeParser(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	m := j.Filter.New("")
	fl, o := m.Match(nil, 1, []byte("2026-03-01 10:00:00 host myapp[12]: login failed for bob from 192.0.2.7"), tp)
	if o != analyze.Matched || len(fl) != 1 || fl[0].HostString() != "192.0.2.7" || fl[0].User != "bob" ||
		!fl[0].Time.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("match: %v %+v", o, fl)
	}
	if _, o := m.Match(nil, 2, []byte("2026-03-01 10:00:01 host myapp[12]: login failed for bob from 10.0.0.1"), tp); o != analyze.Ignored {
		t.Errorf("ignoreregex: outcome %v", o)
	}
	// config check prints it back, and the output parses to the same.
	var out bytes.Buffer
	if err := c.Format(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "style: fail2ban") || !strings.Contains(out.String(), "datepattern: '^%Y-%m-%d %H:%M:%S'") {
		t.Errorf("format lost the fail2ban filter:\n%s", out.String())
	}
	c2 := mustParse(t, out.String())
	if got := c2.Jail("myapp").Fail2ban; got == nil || got.PrefRegex != "^.*$" || got.DatePattern != j.Fail2ban.DatePattern {
		t.Errorf("round trip: %+v", got)
	}
}

func TestFilterStyleFail2banErrors(t *testing.T) {
	src := `
jails:
  a:
    logpath: [/x]
    filter:
      style: fail2ban
      failregex:
        - 'ok from <HOST>'
        - '^(?!root) from <HOST>'
        - '(a)\1 from <HOST>'
  b:
    logpath: [/x]
    filter:
      prefregex: 'x'
      failregex: ['from <HOST>']
`
	_, err := Parse(strings.NewReader(src), "test.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"test.yaml:6:", "failregex 2: negative lookahead (?!", "failregex 3: backreference \\1",
		"test.yaml:14:", "filter.prefregex needs style: fail2ban",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
