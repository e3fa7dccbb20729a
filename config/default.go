package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"strings"

	"logjail/analyze/journal"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is the File of the embedded default configuration.
const DefaultName = "(embedded default)"

// DefaultYAML returns the text of the embedded default configuration, for
// `config check` to print and for operators to start from.
func DefaultYAML() []byte {
	return bytes.Clone(defaultYAML)
}

// Default returns the embedded default configuration, which serves when
// there is no file at DefaultPath: a jail for every built-in filter on the
// usual Debian and RHEL log paths, only sshd enabled. Jails whose filter is
// not compiled into this binary are left out. Each call returns a new
// Config that the caller may change.
func Default() *Config {
	p := &parser{file: DefaultName, lenient: true}
	c := p.parse(bytes.NewReader(defaultYAML))
	if len(p.errs) > 0 {
		// The tests parse the embedded file, so this is a build mistake.
		panic(fmt.Sprintf("config: embedded default.yaml is invalid: %v", p.errs))
	}
	chooseJournal(c, fileExists, localJournalUsable)
	return c
}

// chooseJournal makes the default's sshd jail read the journal on a host
// without its log files (Debian 12 and later, Fedora, Arch without
// rsyslog) when the local journal can be read, and notes what it chose.
func chooseJournal(c *Config, exists func(string) bool, journalUsable func() error) {
	j := c.Jail("sshd")
	if j == nil || j.Journal != nil {
		return
	}
	for _, p := range j.LogPath {
		if exists(p) {
			return
		}
	}
	files := strings.Join(j.LogPath, " or ")
	if err := journalUsable(); err != nil {
		c.Notes = append(c.Notes, fmt.Sprintf("jail sshd: no %s on this host, and the systemd journal cannot be read either (%v): sshd's failures are not seen", files, err))
		return
	}
	j.Journal = &Journal{Match: journal.DefaultMatch("sshd")}
	j.LogPath = nil
	c.Notes = append(c.Notes, fmt.Sprintf("jail sshd: no %s on this host: reading the systemd journal (%s)", files, strings.Join(j.Journal.Match, " ")))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func localJournalUsable() error { return (&journal.Source{}).Usable() }

// DoubleCounting returns a warning for each enabled jail that reads both
// the local journal and an existing log file: rsyslog, where it is
// installed, writes the journal's messages to such files too, so each
// failure would count twice.
func (c *Config) DoubleCounting() []string {
	var out []string
	for _, j := range c.Enabled() {
		jn := j.Journal
		if jn == nil || jn.Directory != "" || len(jn.Files) > 0 || len(j.LogPath) == 0 {
			continue
		}
		files, _ := j.Files()
		for _, f := range files {
			out = append(out, fmt.Sprintf("jail %s reads the journal and %s: if rsyslog writes that file from the journal (as Debian and RHEL set it up), every failure counts twice; read one of them", j.Name, f))
		}
	}
	return out
}
