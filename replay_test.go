package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	got, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != out {
		t.Errorf("the report differs with a progress bar")
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
