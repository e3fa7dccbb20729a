package main

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRotationSuite drives the real program through each way logs are
// rotated, with runs in between, and checks that every failure line was
// counted exactly once: address A fails exactly maxretry (5) times and B
// maxretry-1 times, spread across the rotation; A must be banned and B
// must not, with its 4 failures in progress.
func TestRotationSuite(t *testing.T) {
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	type env struct {
		t   *testing.T
		dir string
		log string
		cfg string
		sec int
	}
	// fail appends n failures of addr to file, one second apart.
	fail := func(e *env, file, addr string, n int) {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			e.t.Fatal(err)
		}
		defer f.Close()
		for i := 0; i < n; i++ {
			e.sec++
			ts := base.Add(time.Duration(e.sec) * time.Second).Format(time.Stamp)
			fmt.Fprintf(f, "%s h sshd[%d]: Failed password for root from %s port 22 ssh2\n", ts, e.sec, addr)
			fmt.Fprintf(f, "%s h CRON[%d]: (root) CMD (true)\n", ts, e.sec)
		}
	}
	run := func(e *env) {
		e.t.Helper()
		now := base.Add(time.Duration(e.sec+1) * time.Second).Format(time.RFC3339)
		lj(e.t, e.cfg, 0, "--now", now, "run")
	}
	mv := func(e *env, from, to string) {
		if err := os.Rename(from, to); err != nil {
			e.t.Fatal(err)
		}
	}
	gz := func(e *env, from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			e.t.Fatal(err)
		}
		f, _ := os.Create(to)
		w := gzip.NewWriter(f)
		w.Write(data)
		w.Close()
		f.Close()
		os.Remove(from)
	}
	// B is not 192.0.2.2: that is an address of some test machines, whose
	// failures the policy drops (see runner.Options.Guard).
	const A, B = "192.0.2.1", "198.51.100.2"
	cases := []struct {
		name   string
		script func(e *env)
	}{
		{"rename and create", func(e *env) {
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 2)
			run(e)
			fail(e, e.log, A, 1) // written, not yet read, before the rotation
			mv(e, e.log, e.log+".1")
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 2)
			run(e)
		}},
		{"copytruncate", func(e *env) {
			fail(e, e.log, A, 2)
			run(e)
			fail(e, e.log, A, 1)
			fail(e, e.log, B, 2)
			data, _ := os.ReadFile(e.log)
			os.WriteFile(e.log+".1", data, 0o644)
			os.Truncate(e.log, 0)
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 2)
			run(e)
		}},
		{"delaycompress and gzip", func(e *env) {
			fail(e, e.log, A, 1)
			run(e)
			fail(e, e.log, A, 1)
			mv(e, e.log, e.log+".1") // first rotation: .1 stays plain
			fail(e, e.log, A, 1)
			fail(e, e.log, B, 2)
			run(e)
			fail(e, e.log, B, 1)
			gz(e, e.log+".1", e.log+".2.gz") // second rotation: .1 compressed to .2.gz
			mv(e, e.log, e.log+".1")
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 1)
			run(e)
		}},
		{"compress without delaycompress", func(e *env) {
			fail(e, e.log, A, 2)
			run(e)
			fail(e, e.log, A, 1)
			fail(e, e.log, B, 2)
			gz(e, e.log, e.log+".1.gz")
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 2)
			run(e)
		}},
		{"truncate in place", func(e *env) {
			fail(e, e.log, A, 3)
			fail(e, e.log, B, 2)
			run(e)
			os.Truncate(e.log, 0)
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 2)
			run(e)
		}},
		{"delete and re-create", func(e *env) {
			fail(e, e.log, A, 3)
			fail(e, e.log, B, 1)
			run(e)
			os.Remove(e.log)
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 3)
			run(e)
		}},
		{"rsyslog still appends to the renamed file", func(e *env) {
			fail(e, e.log, A, 1)
			run(e)
			mv(e, e.log, e.log+".1")
			fail(e, e.log+".1", A, 1) // before rsyslog reopens
			run(e)                    // path is missing for a moment
			fail(e, e.log+".1", A, 1)
			fail(e, e.log+".1", B, 2)
			fail(e, e.log, A, 1) // rsyslog reopened: the new file
			run(e)
			fail(e, e.log+".1", A, 1) // a last straggler
			fail(e, e.log, B, 2)
			run(e)
		}},
		{"two rotations between runs", func(e *env) {
			fail(e, e.log, A, 1)
			run(e)
			fail(e, e.log, A, 1)
			mv(e, e.log, e.log+".1")
			fail(e, e.log, A, 1)
			fail(e, e.log, B, 2)
			mv(e, e.log+".1", e.log+".2")
			mv(e, e.log, e.log+".1")
			fail(e, e.log, A, 2)
			fail(e, e.log, B, 2)
			run(e)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			e := &env{t: t, dir: dir, log: filepath.Join(dir, "auth.log")}
			e.cfg = writeConfig(t, dir, "", e.log)
			c.script(e)
			now := base.Add(time.Duration(e.sec+1) * time.Second).Format(time.RFC3339)
			st := status(t, e.cfg, now)
			banned := map[string]bool{}
			for _, b := range st.Bans {
				banned[b.IP] = true
			}
			counts := map[string]int{}
			for _, f := range st.Failures {
				counts[f.IP] = f.Count
			}
			if !banned[A] || counts[A] != 0 {
				t.Errorf("%s: banned %v with %d failures left, want banned after exactly 5", A, banned[A], counts[A])
			}
			if banned[B] || counts[B] != 4 {
				t.Errorf("%s: banned %v with %d failures, want not banned with 4", B, banned[B], counts[B])
			}
		})
	}
}
