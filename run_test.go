package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"logjail/state"
)

// These tests run the real program (the test binary standing in for it,
// see TestMain) against real files and a real bbolt state file.

const testNow = "2026-11-24T12:00:00Z"

// lj runs logjail with a config and returns stdout; it fails the test on
// an exit code other than want.
func lj(t *testing.T, cfg string, want int, args ...string) string {
	t.Helper()
	out, _ := ljExec(t, nil, "", want, append([]string{"--config", cfg}, args...)...)
	return out
}

// ljExec runs logjail with extra environment and standard input, and
// returns stdout and stderr; it fails the test on an exit code other than
// want.
func ljExec(t *testing.T, env []string, stdin string, want int, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command("logjail", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("logjail %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), code, want, errb.String())
	}
	return out.String(), errb.String()
}

// writeConfig writes a config with one sshd jail over logs and a state in
// dir, firewall none.
func writeConfig(t *testing.T, dir string, lockTimeout string, logs ...string) string {
	t.Helper()
	if lockTimeout == "" {
		lockTimeout = "10s"
	}
	cfg := fmt.Sprintf("state: %s\nfirewall: {backend: none}\nlock_timeout: %s\njails:\n  sshd:\n    logpath: [%s]\n    maxretry: 5\n    findtime: 1d\n    bantime: 1w\n",
		filepath.Join(dir, "state", "state.db"), lockTimeout, strings.Join(logs, ", "))
	path := filepath.Join(dir, "logjail.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type statusDoc struct {
	Bans []struct {
		Jail, IP, Start string
		Until           *string
		Offense         int
	} `json:"bans"`
	Failures []struct {
		Jail, IP string
		Count    int
	} `json:"failures"`
	Digest struct {
		LastSent     *string `json:"last_sent"`
		Pending      int     `json:"pending"`
		Failures     int     `json:"failures"`
		FailingSince *string `json:"failing_since"`
		LastError    string  `json:"last_error"`
		NextTry      *string `json:"next_try"`
	} `json:"digest"`
}

func status(t *testing.T, cfg, now string) statusDoc {
	t.Helper()
	var doc statusDoc
	if err := json.Unmarshal([]byte(lj(t, cfg, 0, "--now", now, "status", "--format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// summary is a comparable digest of a status: bans and failure counts.
func (d statusDoc) summary() string {
	var b strings.Builder
	for _, x := range d.Bans {
		u := "permanent"
		if x.Until != nil {
			u = *x.Until
		}
		fmt.Fprintf(&b, "ban %s %s %s %s %d\n", x.Jail, x.IP, x.Start, u, x.Offense)
	}
	for _, f := range d.Failures {
		fmt.Fprintf(&b, "fail %s %s %d\n", f.Jail, f.IP, f.Count)
	}
	return b.String()
}

// corpusLines returns n sshd lines made of copies of the loghub sample,
// in time order: copy c starts 5 hours after copy c-1 (the sample spans
// a little over 4), the first on Nov 17; the addresses starting with 1
// are varied per copy, the others come back as repeat offenders.
func corpusLines(t *testing.T, n int) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/loghub/OpenSSH_2k.log")
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n")
	seed = seed[:len(seed)-1]
	first, err := time.Parse(time.Stamp, seed[0][:15])
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)
	var out []string
	for c := 0; len(out) < n; c++ {
		for _, l := range seed {
			if len(out) == n {
				break
			}
			ts, err := time.Parse(time.Stamp, l[:15])
			if err != nil {
				t.Fatal(err)
			}
			at := base.Add(time.Duration(c)*5*time.Hour + ts.Sub(first))
			rest := l[15:]
			if c > 0 {
				rest = strings.ReplaceAll(rest, "from 1", fmt.Sprintf("from %d", 100+c%100))
			}
			out = append(out, at.Format(time.Stamp)+rest)
		}
	}
	return out
}

func TestCrashKeepsStateConsistent(t *testing.T) {
	dir := t.TempDir()
	lines := corpusLines(t, 60000)
	// The reference: the whole log in one uninterrupted run.
	refLog := filepath.Join(dir, "ref", "auth.log")
	os.MkdirAll(filepath.Dir(refLog), 0o755)
	os.WriteFile(refLog, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	refCfg := writeConfig(t, filepath.Join(dir, "ref"), "", refLog)
	lj(t, refCfg, 0, "--now", testNow, "run")
	want := status(t, refCfg, testNow)
	if len(want.Bans) == 0 {
		t.Fatal("the reference run banned nobody: the test would prove nothing")
	}

	// The same log written in 100 chunks; after each, a run killed at a
	// random instant.
	log := filepath.Join(dir, "crash", "auth.log")
	os.MkdirAll(filepath.Dir(log), 0o755)
	cfg := writeConfig(t, filepath.Join(dir, "crash"), "", log)
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const trials = 100
	killed, finished := 0, 0
	// Every fifth run goes uninterrupted and measures how long a run
	// takes; the others are killed at a random instant within 1.5 times
	// that, so that some die at start, some while reading or committing.
	span := time.Duration(0)
	for i := 0; i < trials; i++ {
		chunk := lines[i*len(lines)/trials : (i+1)*len(lines)/trials]
		f.WriteString(strings.Join(chunk, "\n") + "\n")
		cmd := exec.Command("logjail", "--config", cfg, "--now", testNow, "run")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("uninterrupted run %d: %v", i, err)
			}
			span = time.Since(start) * 3 / 2
			finished++
			continue
		}
		time.Sleep(time.Duration(rng.Int63n(int64(span))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		} else {
			finished++
		}
	}
	t.Logf("%d runs killed, %d finished (the last kill window %s)", killed, finished, span)
	if killed < 30 {
		t.Fatalf("only %d runs were killed before they ended: the test proves nothing", killed)
	}
	lj(t, cfg, 0, "--now", testNow, "run")
	got := status(t, cfg, testNow)
	if g, w := got.summary(), want.summary(); g != w {
		t.Fatalf("after crashes the state differs from an uninterrupted run:\n got:\n%s\nwant:\n%s", g, w)
	}
}

func TestConcurrentRuns(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, []byte(strings.Join(corpusLines(t, 40000), "\n")+"\n"), 0o644)
	cfg := writeConfig(t, dir, "", log)
	// Two runs at once: one waits for the other (lock_timeout 10s).
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		c := exec.Command("logjail", "--config", cfg, "--now", testNow, "run")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("a concurrent run failed: %v", err)
		}
	}
	got := status(t, cfg, testNow)

	ref := filepath.Join(t.TempDir(), "auth.log")
	os.WriteFile(ref, []byte(strings.Join(corpusLines(t, 40000), "\n")+"\n"), 0o644)
	refCfg := writeConfig(t, filepath.Dir(ref), "", ref)
	lj(t, refCfg, 0, "--now", testNow, "run")
	if g, w := got.summary(), status(t, refCfg, testNow).summary(); g != w {
		t.Fatalf("two concurrent runs differ from one:\n got:\n%s\nwant:\n%s", g, w)
	}

	// A run that cannot get the lock in time exits 3 with one line.
	db, err := state.Open(filepath.Join(dir, "state", "state.db"), state.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg1 := writeConfig(t, dir, "1s", log)
	cmd := exec.Command("logjail", "--config", cfg1, "--now", testNow, "run")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("run against a held lock: %v, want exit 3", err)
	}
	if lines := strings.Split(strings.TrimSpace(errb.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "locked") {
		t.Fatalf("stderr %q: want one line saying the state is locked", errb.String())
	}
}
