package main

import "github.com/urfave/cli/v2"

func unbanCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "unban",
		Usage:     "lift bans by hand",
		ArgsUsage: "(IP|CIDR)... | --all",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "jail", Usage: "only in this jail"},
			&cli.BoolFlag{Name: "all", Usage: "lift every ban"},
		},
		Action: func(c *cli.Context) error { return errNotImplemented },
	}
}
