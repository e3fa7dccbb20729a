package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/enforce"
	"logjail/runner"
)

func firewallCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "firewall",
		Usage: "manage logjail's firewall rules",
		Subcommands: []*cli.Command{{
			Name:  "flush",
			Usage: "remove every rule, chain and set logjail created (for uninstalling)",
			Description: "Removes logjail's iptables/ip6tables chains and INPUT rules, its ipset sets and its\n" +
				"nftables table, whichever backend made them; nothing else. The state keeps its bans:\n" +
				"the next run puts them back unless logjail is uninstalled or the backend is none.",
			Action: func(c *cli.Context) error { return runFirewallFlush(c.Context, e, firewallFlushOptions{}) },
		}},
	}
}

type firewallFlushOptions struct{}

func runFirewallFlush(ctx context.Context, e *env, _ firewallFlushOptions) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	flushed, err := runner.Flush(ctx, cfg, func(kind string) (enforce.Backend, error) { return e.firewallKind(cfg, kind) })
	if e.verbose {
		for _, kind := range flushed {
			fmt.Fprintf(e.stdout, "%s: flushed\n", kind)
		}
	}
	return err
}
