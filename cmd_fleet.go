package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"logjail/remote"
)

func fleetCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "fleet",
		Usage: "the fleet's database: bans and failure counts shared between hosts",
		Subcommands: []*cli.Command{{
			Name:  "init",
			Usage: "create or migrate the fleet's schema (idempotent; safe from two hosts at once)",
			Description: "Connects with the configuration's fleet.dsn and password_file and creates the schema\n" +
				"logjail, or migrates it to this version, in one transaction under an advisory lock.\n" +
				"Run it as the role that owns the schema (not a host's own role); see the README's\n" +
				"\"A fleet of hosts\" for the grants each host's role needs.",
			Action: func(c *cli.Context) error { return runFleetInit(c.Context, e, fleetInitOptions{}) },
		}},
	}
}

type fleetInitOptions struct{}

func runFleetInit(ctx context.Context, e *env, _ fleetInitOptions) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if !cfg.Fleet.Enabled() {
		return usagef("fleet init: %s has no fleet.dsn", cfg.File)
	}
	ctx, cancel := context.WithTimeout(ctx, max(cfg.Fleet.Timeout, 30*time.Second))
	defer cancel()
	from, to, err := remote.InitFleet(ctx, &cfg.Fleet, cfg.Fleet.Host)
	if err != nil {
		return err
	}
	if from == to {
		fmt.Fprintf(e.stdout, "fleet schema is at version %d already\n", to)
	} else {
		fmt.Fprintf(e.stdout, "fleet schema migrated from version %d to %d\n", from, to)
	}
	return nil
}
