package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/runner"
)

func unbanCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "unban",
		Usage:     "lift bans by hand",
		ArgsUsage: "(IP|CIDR)... | - | --all",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "jail", Usage: "only in this jail"},
			&cli.BoolFlag{Name: "all", Usage: "lift every ban"},
		},
		Action: func(c *cli.Context) error {
			return runUnban(c.Context, e, unbanOptions{jail: c.String("jail"), all: c.Bool("all"), args: c.Args().Slice()})
		},
	}
}

type unbanOptions struct {
	jail string
	all  bool
	args []string // addresses and networks, or "-"
}

func runUnban(ctx context.Context, e *env, o unbanOptions) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if o.all && len(o.args) > 0 {
		return usagef("unban: give addresses or --all, not both")
	}
	uo := runner.UnbanOptions{Config: cfg, Now: e.now, Jail: o.jail, All: o.all}
	if !o.all {
		if uo.Targets, err = parseTargets(o.args, e.stdin); err != nil {
			return err
		}
	}
	if uo.Firewall, err = e.firewall(cfg); err != nil {
		return err
	}
	db, closeDB, err := e.state(cfg, false)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := runner.Unban(ctx, db, uo)
	if res != nil {
		for _, p := range res.Missing {
			fmt.Fprintf(e.stderr, "logjail: no ban of %s%s\n", p, inJail(o.jail))
		}
	}
	if err != nil {
		return stateError(err)
	}
	if err := firewallDone(e, uo.Firewall, res.Firewall); err != nil {
		return err
	}
	if res.FleetErr != nil {
		return res.FleetErr
	}
	if len(res.Missing) > 0 {
		return errSilent
	}
	return nil
}

func inJail(j string) string {
	if j == "" {
		return ""
	}
	return " in jail " + j
}
