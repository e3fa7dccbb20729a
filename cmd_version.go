package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// versionString returns the build's version: the linker's, else the module
// version go install recorded, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "version",
		Usage:  "print the version",
		Action: func(c *cli.Context) error { return runVersion(c.Context, e, versionOptions{}) },
	}
}

type versionOptions struct{}

func runVersion(_ context.Context, e *env, _ versionOptions) error {
	_, err := fmt.Fprintf(e.stdout, "logjail %s\n", versionString())
	return err
}
