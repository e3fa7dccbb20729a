package main

import "github.com/urfave/cli/v2"

func statusCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show active bans, failures in progress and log offsets",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json"},
		},
		Action: func(c *cli.Context) error { return errNotImplemented },
	}
}
