package main

import "github.com/urfave/cli/v2"

func configCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "check the configuration",
		Subcommands: []*cli.Command{{
			Name:   "check",
			Usage:  "report every error with its line, or print the effective configuration",
			Action: func(c *cli.Context) error { return errNotImplemented },
		}},
	}
}
