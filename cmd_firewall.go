package main

import "github.com/urfave/cli/v2"

func firewallCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "firewall",
		Usage: "manage logjail's firewall rules",
		Subcommands: []*cli.Command{{
			Name:   "flush",
			Usage:  "remove every rule, chain and set logjail created",
			Action: func(c *cli.Context) error { return errNotImplemented },
		}},
	}
}
