package main

import "github.com/urfave/cli/v2"

func banCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "ban",
		Usage:     "ban addresses or networks by hand (- reads one per line from stdin)",
		ArgsUsage: "(IP|CIDR)... | -",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "jail", Usage: "the jail the ban belongs to"},
			&cli.StringFlag{Name: "for", Usage: "ban `DURATION` (default: the jail's bantime)"},
		},
		Action: func(c *cli.Context) error { return errNotImplemented },
	}
}
