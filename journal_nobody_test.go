package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/internal/journaltest"
	"logjail/internal/testenv"
)

// TestJournalAsNobody: a user who may not read the journal (neither root
// nor in systemd-journal or adm) gets one line saying so, where journalctl
// -q would print nothing at all.
func TestJournalAsNobody(t *testing.T) {
	testenv.Root(t, "to run logjail as nobody")
	testenv.Tool(t, "runuser")
	journaltest.Need(t)
	dir, bin := nobodyDir(t)
	jdir := filepath.Join(dir, "journal")
	os.Mkdir(jdir, 0o755)
	journaltest.Write(t, filepath.Join(jdir, "system.journal"), journaltest.Entry{
		Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Comm: "sshd", Ident: "sshd", PID: 1, Msg: journaltest.SSHFail("192.0.2.1")})
	os.Chmod(filepath.Join(jdir, "system.journal"), 0o640) // root's, as journald makes them
	cmd := exec.Command("runuser", "-u", "nobody", "--", bin, "--config", "/etc/logjail/logjail.yaml", "replay", "--journal", jdir)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() == 0 || stdout.Len() > 0 {
		t.Fatalf("replay --journal as nobody: %v, stdout %q", err, stdout.String())
	}
	msg := strings.TrimSpace(stderr.String())
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "permission denied") || !strings.Contains(msg, "systemd-journal or adm") || !strings.Contains(msg, jdir) {
		t.Errorf("stderr %q: want one line naming %s, permission denied and the groups", msg, jdir)
	}
}
