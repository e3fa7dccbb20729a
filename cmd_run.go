package main

import "github.com/urfave/cli/v2"

func runCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "the cron job: read new log lines, ban and unban, send the digest when due",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the bans and unbans a run would make now; change nothing"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`table` or json (with --dry-run)"},
		},
		Action: func(c *cli.Context) error { return errNotImplemented },
	}
}
