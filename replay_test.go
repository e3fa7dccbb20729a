package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"logjail/internal/journaltest"
	"logjail/internal/testenv"
)

// TestReplayProgress: a large replay shows a progress bar on a terminal
// (util-linux script gives it one) and nothing on a pipe; the report is the
// same either way.
func TestReplayProgress(t *testing.T) {
	script := testenv.Tool(t, "script") // util-linux
	sample, err := os.ReadFile("testdata/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "auth.log")
	data := bytes.Repeat(sample[:bytes.LastIndexByte(sample, '\n')+1], replayProgressMin/len(sample)+2)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", "/etc/logjail/logjail.yaml", "--now", "2025-12-11T00:00:00Z", "replay", "--format", "json", big}

	out, errOut := ljExec(t, nil, "", 0, args...)
	if errOut != "" {
		t.Errorf("on a pipe, stderr holds %q", errOut)
	}
	if !strings.Contains(out, `"failures": `) {
		t.Fatalf("no report on stdout: %.200s", out)
	}

	// On a terminal: stdout goes to a file, stderr stays on the terminal.
	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(script, "-qec", "logjail "+strings.Join(args, " ")+" >"+report, "/dev/null")
	term, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("logjail under script: %v\n%s", err, term)
	}
	if !strings.Contains(string(term), "replay") || !strings.Contains(string(term), "100%") {
		t.Errorf("no progress bar on the terminal: %q", term)
	}
	if want := fmt.Sprintf("/%d MB", (len(data)+500_000)/1_000_000); !strings.Contains(string(term), want) {
		t.Errorf("the bar does not count bytes (%q): %q", want, term)
	}
	got, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != out {
		t.Errorf("the report differs with a progress bar")
	}

	// The bar fits stderr's terminal, whatever stdout is: in 70 columns
	// with stdout redirected, no line wraps.
	cmd = exec.Command(script, "-qec", "stty cols 70; logjail "+strings.Join(args, " ")+" >"+report, "/dev/null")
	if term, err = cmd.CombinedOutput(); err != nil {
		t.Fatalf("logjail under script: %v\n%s", err, term)
	}
	if !strings.Contains(string(term), "100%") {
		t.Errorf("no progress bar on the terminal: %q", term)
	}
	for _, l := range strings.FieldsFunc(string(term), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if n := utf8.RuneCountInString(l); n > 70 {
			t.Errorf("a line of %d columns on a terminal of 70: %q", n, l)
		}
	}
}

// TestReplayProgressJournal: a replay of journal files shows its progress
// bar from replayProgressMin/64 entries, counting entries, not bytes.
func TestReplayProgressJournal(t *testing.T) {
	script := testenv.Tool(t, "script") // util-linux
	journaltest.Need(t)
	n := replayProgressMin/64 + 100
	entries := make([]journaltest.Entry, n)
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := range entries {
		entries[i] = journaltest.Entry{Time: t0.Add(time.Duration(i) * time.Millisecond), Comm: "sshd", Ident: "sshd", PID: 1,
			Msg: journaltest.SSHFail(fmt.Sprintf("192.0.2.%d", i%250+1))}
	}
	journal := filepath.Join(t.TempDir(), "system.journal")
	journaltest.Write(t, journal, entries...)

	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(script, "-qec", "logjail --config /etc/logjail/logjail.yaml --now 2026-11-25T00:00:00Z replay --journal --format json "+journal+" >"+report, "/dev/null")
	term, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("logjail under script: %v\n%s", err, term)
	}
	if want := fmt.Sprintf("(%d/%d, ", n, n); !strings.Contains(string(term), "replay") || !strings.Contains(string(term), "100%") || !strings.Contains(string(term), want) {
		t.Errorf("no progress bar counting %d entries (%q) on the terminal: %q", n, want, term)
	}
	if strings.Contains(string(term), " MB") {
		t.Errorf("the journal's bar counts bytes: %q", term)
	}
	got, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"failures": %d,`, n); !strings.Contains(string(got), want) {
		t.Errorf("report lacks %s: %.300s", want, got)
	}
}

// nobodyDir makes a directory anyone may enter, removed after the test,
// holding a copy of this test binary as logjail (main_test.go runs it as
// logjail), for runuser -u nobody.
func nobodyDir(t *testing.T) (dir, bin string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err = os.MkdirTemp("", "logjail-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin = filepath.Join(dir, "logjail")
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if os.WriteFile(bin, exe, 0o755) != nil || os.Chmod(dir, 0o755) != nil {
		t.Fatal("cannot prepare the files")
	}
	return dir, bin
}

// TestReplayAsNobody: replay needs no root, no state file and no
// configuration: an unprivileged user can run it on a log it can read.
func TestReplayAsNobody(t *testing.T) {
	testenv.Netns(t, "runuser")
	dir, bin := nobodyDir(t)
	log := filepath.Join(dir, "auth.log")
	sample, err := os.ReadFile("testdata/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Fatal(err)
	}
	if os.WriteFile(log, sample, 0o644) != nil {
		t.Fatal("cannot prepare the files")
	}
	cmd := exec.Command("runuser", "-u", "nobody", "--", bin, "--config", "/etc/logjail/logjail.yaml", "--now", "2025-12-11T00:00:00Z", "replay", "--format", "json", log)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("replay as nobody: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"failures": 650`) || stderr.Len() > 0 {
		t.Fatalf("replay as nobody: stdout %.200s\nstderr %s", stdout.String(), stderr.String())
	}
}
