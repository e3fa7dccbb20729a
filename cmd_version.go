package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/urfave/cli/v2"
)

// version and commit are set at build time, as dist/package does:
// -ldflags "-X main.version=1.2.3 -X main.commit=0123abc". The commit is
// stamped by hand because builds here run with GOFLAGS=-buildvcs=false.
var (
	version = ""
	commit  = ""
)

// buildInfo is what the go command recorded of the build, parsed once: it
// lists every module in the binary.
var buildInfo = sync.OnceValues(debug.ReadBuildInfo)

// versionString returns the build's version: the linker's, else the module
// version go install recorded, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := buildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// commitString returns the commit the binary was built from: the linker's,
// else the one the go command recorded (vcs.revision), else "unknown".
func commitString() string {
	if commit != "" {
		return commit
	}
	if bi, ok := buildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "version",
		Usage:  "print the version, the commit it was built from and the Go version",
		Action: func(c *cli.Context) error { return runVersion(c.Context, e, versionOptions{}) },
	}
}

type versionOptions struct{}

func runVersion(_ context.Context, e *env, _ versionOptions) error {
	_, err := fmt.Fprintf(e.stdout, "logjail %s (commit %s, %s)\n", versionString(), commitString(), runtime.Version())
	return err
}
