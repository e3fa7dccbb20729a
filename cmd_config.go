package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

func configCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "check the configuration",
		Subcommands: []*cli.Command{{
			Name:  "check",
			Usage: "report every error with its line (exit 2), or print the effective configuration",
			Action: func(c *cli.Context) error {
				return runConfigCheck(c.Context, e, configCheckOptions{})
			},
		}},
	}
}

type configCheckOptions struct{}

func runConfigCheck(_ context.Context, e *env, _ configCheckOptions) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	return cfg.Format(e.stdout)
}
