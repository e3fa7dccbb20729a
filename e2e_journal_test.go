package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// TestEndToEndJournal is TestEndToEndSSHD over the systemd journal: the
// real sshd logs through syslog(3) to a real systemd-journald (as on a
// Debian 12 host without rsyslog), which writes a real journal and takes
// _COMM from the kernel; `logjail run` reads it with journalctl from its
// cursor (journal: {directory: ...}, the sshd filter's match _COMM=sshd)
// and bans as it does over rsyslog's file.
//
// journald runs in the server namespace and in a mount namespace of its
// own, with private /run and /var/log/journal (see journaldScript): it
// touches nothing of the host.
func TestEndToEndJournal(t *testing.T) {
	testenv.Netns(t, "/usr/sbin/sshd", "sshpass", "/lib/systemd/systemd-journald", "journalctl", "ssh", "ssh-keygen", "unshare", "mount",
		"iptables", "ip6tables", "iptables-save", "ip6tables-save")
	l := newE2ELab(t, "iptables", e2eJournal)
	l.scenario(t, [][]string{{"iptables", "-F"}, {"iptables", "-X"}, {"ip6tables", "-F"}, {"ip6tables", "-X"}})
	// Only sshd's own entries were read: the journal holds journald's too.
	out, _ := l.lj(t, 0, "", "status", "--format", "json")
	if !strings.Contains(out, `"source": "directory:`+l.journalDir()+`"`) {
		t.Errorf("status names no journal source %s:\n%s", l.journalDir(), out)
	}
}

// e2eJournal is the e2eLab template that makes sshd log to journald.
const e2eJournal = "journal"

// journaldScript runs systemd-journald with a private /run, whose
// /run/systemd/journal (its sockets) and /run/log (the volatile journal)
// are directories of the test, and an empty /var/log/journal, so that it
// keeps the journal in /run/log/journal/MACHINE-ID. Without a service
// manager it opens its sockets itself.
//
// ip netns exec mounts a fresh /sys for the network namespace, without
// the cgroup file system journald needs to start: it is mounted again in
// the private mount namespace.
const journaldScript = `set -e
sockets=$1; logs=$2
mount -t tmpfs -o mode=0755 lj-e2e-run /run
[ -e /sys/fs/cgroup/cgroup.controllers ] || mount -t cgroup2 lj-e2e-cgroup /sys/fs/cgroup
mkdir -p /run/systemd/journal /run/log
mount --bind "$sockets" /run/systemd/journal
mount --bind "$logs" /run/log
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 lj-e2e-journal /var/log/journal; fi
SYSTEMD_LOG_TARGET=console exec /lib/systemd/systemd-journald
`

// journalDir is the directory logjail reads: journald's /run/log/journal.
func (l *e2eLab) journalDir() string { return filepath.Join(l.dir, "jlog", "journal") }

// startJournald starts journald and returns its syslog socket once it is
// there.
func (l *e2eLab) startJournald(t *testing.T) string {
	t.Helper()
	sockets, logs := filepath.Join(l.dir, "jrun"), filepath.Join(l.dir, "jlog")
	for _, d := range []string{sockets, logs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l.start(t, "systemd-journald", l.rsysOut, "ip", "netns", "exec", l.server,
		"unshare", "--mount", "--propagation", "private", "sh", "-c", journaldScript, "journald-e2e", sockets, logs)
	sock := filepath.Join(sockets, "dev-log")
	e2eWait(t, 10*time.Second, "journald's socket "+sock, func() bool {
		fi, err := os.Stat(sock)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	return sock
}

// journalText is the journal as journalctl's short format shows it.
func (l *e2eLab) journalText() []byte {
	out, _ := exec.Command("journalctl", "-q", "--no-pager", "-o", "short", "--directory="+l.journalDir()).Output()
	return out
}

// e2eShort is the start of a line of journalctl -o short.
var e2eShort = regexp.MustCompile(`^[A-Z][a-z]{2} [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] \S+ sshd\[[0-9]+\]: `)

// checkJournal makes sure the line came through journald, which recorded
// the kernel's process name: the entry matches _COMM=sshd.
func (l *e2eLab) checkJournal(t *testing.T, line string) {
	t.Helper()
	if !e2eShort.MatchString(line) {
		t.Fatalf("journal line %q is not journalctl's short format", line)
	}
	msg := line[strings.Index(line, "]: ")+3:]
	out, err := exec.Command("journalctl", "-q", "--no-pager", "-o", "cat", "--directory="+l.journalDir(), "_COMM=sshd").Output()
	if err != nil || !strings.Contains(string(out), msg) {
		t.Fatalf("journalctl _COMM=sshd does not show %q (%v):\n%s", msg, err, out)
	}
}
