package main

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"logjail/internal/journaltest"
	"logjail/remote"
	"logjail/remote/serve"
)

// TestMain lets the scripts in testdata/script, and the tests that start
// logjail, run the real program as the command "logjail", and its helper
// logjail-net (package remote) as this same binary run by that name.
func TestMain(m *testing.M) {
	if self, err := os.Executable(); err == nil && os.Getenv("LOGJAIL_NET") == "" {
		os.Setenv("LOGJAIL_NET", self)
	}
	testscript.Main(m, map[string]func(){
		"logjail":      func() { os.Exit(realMain(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
		remote.Program: func() { os.Exit(serve.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line behaviour described in
// testdata/script/*.txtar against the real binary.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// expand FILE...: replace $VARS in the files (e.g. $WORK in a
			// config whose paths must be absolute).
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, f := range args {
					data := ts.ReadFile(f)
					ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(data, ts.Getenv)), 0o644))
				}
			},
			// mkjournal OUT.journal EXPORT: append the entries of an
			// export-format text file to a journal file, with
			// systemd-journal-remote.
			"mkjournal": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: mkjournal OUT.journal EXPORT")
				}
				b := bytes.NewBufferString(ts.ReadFile(args[1]))
				ts.Check(journaltest.WriteExport(ts.MkAbs(args[0]), b))
			},
		},
		Condition: func(cond string) (bool, error) {
			if cond == "journal" {
				_, err := os.Stat(journaltest.Remote)
				if err != nil && os.Getenv("CI") == "true" {
					return false, fmt.Errorf("CI=true: %s is missing: %w", journaltest.Remote, err)
				}
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("LOGJAIL_CONFIG", env.WorkDir+"/no-such-config.yaml")
			env.Setenv("TZ", "UTC")
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("REPO", wd)
			env.Setenv("LOGJAIL_NET", os.Getenv("LOGJAIL_NET"))
			return nil
		},
	})
}
