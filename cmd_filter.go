package main

import "github.com/urfave/cli/v2"

func filterCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "filter",
		Usage:       "write and check filters",
		Subcommands: []*cli.Command{filterTestCommand(e), filterListCommand(e)},
	}
}
