package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts in testdata/script run the real program as the
// command "logjail".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"logjail": func() { os.Exit(realMain(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line behaviour described in
// testdata/script/*.txtar against the real binary.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("LOGJAIL_CONFIG", env.WorkDir+"/no-such-config.yaml")
			env.Setenv("TZ", "UTC")
			return nil
		},
	})
}
