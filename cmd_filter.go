package main

import "github.com/urfave/cli/v2"

func filterCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:        "filter",
		Usage:       "write and check filters",
		Subcommands: []*cli.Command{filterTestCommand(g), filterListCommand(g)},
	}
}
