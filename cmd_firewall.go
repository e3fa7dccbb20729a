package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/enforce"
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
	var errs []error
	for _, kind := range []string{"iptables", "ipset", "nftables"} {
		fw, err := e.firewallKind(cfg, kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = fw.Flush(ctx)
		// A backend whose tool is not installed made nothing to remove,
		// unless it is the configured one.
		if err != nil && (kind == cfg.Firewall.Backend || !errors.Is(err, enforce.ErrToolMissing)) {
			errs = append(errs, err)
		} else if err == nil && e.verbose {
			fmt.Fprintf(e.stdout, "%s: flushed\n", kind)
		}
	}
	return errors.Join(errs...)
}
