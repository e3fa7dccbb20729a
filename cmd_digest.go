package main

import "github.com/urfave/cli/v2"

func digestCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "digest",
		Usage: "send the digest mail now",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "preview", Usage: "print the digest instead of sending it"},
		},
		Action: func(c *cli.Context) error { return errNotImplemented },
	}
}
