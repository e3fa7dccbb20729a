package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"logjail/analyze"
)

func filterListCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the built-in filters with their modes and a line each catches",
		Action: func(c *cli.Context) error {
			return runFilterList(c.Context, e, filterListOptions{})
		},
	}
}

type filterListOptions struct{}

func runFilterList(_ context.Context, e *env, _ filterListOptions) error {
	w := e.stdout
	for _, f := range analyze.Builtins() {
		modes := "-"
		if len(f.Modes) > 0 {
			modes = strings.Join(f.Modes, ", ")
		}
		if _, err := fmt.Fprintf(w, "%s\n  %s\n  modes:  %s\n  sample: %s\n\n", f.Name, f.Description, modes, f.Sample); err != nil {
			return err
		}
	}
	return nil
}
