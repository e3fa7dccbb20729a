package main

import "github.com/urfave/cli/v2"

func replayCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "analyse historical log files (plain or gzip) into a report",
		ArgsUsage: "FILE...",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "jail", Usage: "only this jail (repeatable); default: every enabled jail"},
			&cli.StringFlag{Name: "from", Usage: "ignore lines before `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "ignore lines at or after `TIME`"},
			&cli.StringSliceFlag{Name: "set", Usage: "what-if policy override `KEY=VALUE` (maxretry, findtime, bantime, ignoreip, mode)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, json, csv or html"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of stdout"},
		},
		Action: func(c *cli.Context) error { return errNotImplemented },
	}
}
