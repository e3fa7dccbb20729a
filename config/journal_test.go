package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestJournalKey(t *testing.T) {
	c, err := Parse(strings.NewReader("jails:\n  sshd:\n    journal: {}\n  vsftpd:\n    logpath: [/x.log]\n    journal:\n      match: [_COMM=vsftpd, +, _SYSTEMD_UNIT=ftp.service]\n      namespace: ftp\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if j := c.Jail("sshd"); j.Journal == nil || !slices.Equal(j.Journal.Match, []string{"_COMM=sshd", "_COMM=sshd-session", "_COMM=sshd-auth"}) || len(j.LogPath) != 0 {
		t.Errorf("sshd: %+v %v", j.Journal, j.LogPath)
	}
	if j := c.Jail("vsftpd"); j.Journal.Namespace != "ftp" || len(j.Journal.Match) != 3 {
		t.Errorf("vsftpd: %+v", j.Journal)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"jails:\n  sshd:\n    journal: {match: [comm=sshd]}\n", `t.yaml:3: jail "sshd": journal match term "comm=sshd"`},
		{"jails:\n  sshd:\n    journal: {directory: /a, files: [/b]}\n", "t.yaml:3: jail \"sshd\": journal: directory and files cannot be combined"},
		{"jails:\n  sshd:\n    journal: {dir: /a}\n", "t.yaml:3: jail \"sshd\": journal: unknown key"},
		{"jails:\n  dovecot:\n    journal: {}\n", "has no default journal match"},
		{"jails:\n  x:\n    filter: {failregex: ['f <HOST>']}\n    journal: {}\n", "has no default journal match"},
		{"jails:\n  sshd: {}\n", "has no logpath or journal"},
	} {
		_, err := Parse(strings.NewReader(tc.yaml), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestDefaultChoosesJournal(t *testing.T) {
	none := func(string) bool { return false }
	ok := func() error { return nil }
	c := Default()
	c.Notes = nil
	c.Jail("sshd").Journal = nil
	c.Jail("sshd").LogPath = []string{"/var/log/auth.log", "/var/log/secure"}
	chooseJournal(c, none, ok)
	if j := c.Jail("sshd"); j.Journal == nil || len(j.LogPath) != 0 || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "reading the systemd journal") {
		t.Errorf("no log files, journal: %+v %v %q", j.Journal, j.LogPath, c.Notes)
	}
	c = Default()
	c.Notes = nil
	c.Jail("sshd").Journal = nil
	c.Jail("sshd").LogPath = []string{"/var/log/auth.log", "/var/log/secure"}
	chooseJournal(c, func(p string) bool { return p == "/var/log/secure" }, ok)
	if j := c.Jail("sshd"); j.Journal != nil || len(c.Notes) != 0 {
		t.Errorf("a log file: %+v %q", j.Journal, c.Notes)
	}
	chooseJournal(c, none, func() error { return errors.New("no journal files") })
	if j := c.Jail("sshd"); j.Journal != nil || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "cannot be read either") {
		t.Errorf("neither: %+v %q", j.Journal, c.Notes)
	}
}

func TestDoubleCounting(t *testing.T) {
	log := filepath.Join(t.TempDir(), "auth.log")
	os.WriteFile(log, nil, 0o644)
	c, err := Parse(strings.NewReader("jails:\n  sshd:\n    logpath: ["+log+"]\n    journal: {}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.DoubleCounting(); len(w) != 1 || !strings.Contains(w[0], log) || !strings.Contains(w[0], "twice") {
		t.Errorf("warnings %q", w)
	}
	c.Jail("sshd").Journal.Files = []string{"/j/*.journal"}
	if w := c.DoubleCounting(); len(w) != 0 {
		t.Errorf("journal files of another machine: %q", w)
	}
}
