package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFleetSection(t *testing.T) {
	c := mustParse(t, sshd("fleet:", "  dsn: host=db dbname=logjail user=web1 sslmode=verify-full", "  host: web1", "  share: failures", "  jails: [sshd, manual]", "  max_bans: 50", "  timeout: 2s"))
	f := c.Fleet
	if !f.Enabled() || f.Host != "web1" || f.Share != ShareFailures || f.MaxBans != 50 || f.Timeout != 2*time.Second {
		t.Fatalf("fleet = %+v", f)
	}
	if !f.TakesPart("sshd") || !f.TakesPart(ManualJail) || f.TakesPart("nginx") {
		t.Errorf("TakesPart wrong for %v", f.Jails)
	}
	var out strings.Builder
	if err := c.Format(&out); err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, out.String()).Fleet
	if !reflect.DeepEqual(back, f) {
		t.Errorf("fleet after Format and Parse = %+v, want %+v\n%s", back, f, out.String())
	}
	d := mustParse(t, sshd()).Fleet
	if d.Enabled() || d.Share != ShareBans || d.MaxBans != 10000 || d.Timeout != 5*time.Second {
		t.Errorf("default fleet = %+v", d)
	}
	if d.TakesPart("sshd") {
		t.Error("no dsn: nothing takes part")
	}
	all := mustParse(t, sshd("fleet:", "  dsn: host=db")).Fleet
	if !all.TakesPart("sshd") || !all.TakesPart(ManualJail) {
		t.Error("fleet.jails empty: every jail and manual take part")
	}
}

func TestFleetErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"  dsn: host=db password=secret", "must not carry a password"},
		{"  dsn: postgres://web1:secret@db/logjail", "must not carry a password"},
		{"  share: everything", "share"},
		{"  jails: [sshd, nginx]", `fleet.jails: no jail "nginx"`},
		{"  max_bans: 0", "fleet.max_bans must be at least 1"},
		{"  timeout: -1s", "fleet.timeout must be positive"},
		{"  host: 'web 1'", `fleet.host "web 1"`},
		{"  passwd_file: x", "passwd_file"},
	} {
		lines := []string{"fleet:", "  dsn: host=db", tc.src}
		if strings.HasPrefix(tc.src, "  dsn:") {
			lines = []string{lines[0], lines[2]}
		}
		_, errs := parseString(t, sshd(lines...))
		if errs == nil || !strings.Contains(errs.Error(), tc.want) {
			t.Errorf("%q: errors %v, want %q", tc.src, errs, tc.want)
		}
	}
	// a database called "passwords" is no password
	mustParse(t, sshd("fleet:", "  dsn: host=db dbname=passwords"))
}
