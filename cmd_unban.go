package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/state"
)

func unbanCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "unban",
		Usage:     "lift bans by hand",
		ArgsUsage: "(IP|CIDR)... | - | --all",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "jail", Usage: "only in this jail"},
			&cli.BoolFlag{Name: "all", Usage: "lift every ban"},
		},
		Action: func(c *cli.Context) error {
			return runUnban(c.Context, g, c.String("jail"), c.Bool("all"), c.Args().Slice())
		},
	}
}

func runUnban(ctx context.Context, g *globals, jail string, all bool, args []string) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if all && len(args) > 0 {
		return usagef("unban: give addresses or --all, not both")
	}
	var targets map[string]bool
	if !all {
		ps, err := parseTargets(args, g.stdin)
		if err != nil {
			return err
		}
		targets = map[string]bool{}
		for _, p := range ps {
			targets[p.String()] = true
		}
	}
	fw, err := firewallFor(cfg)
	if err != nil {
		return err
	}
	db, cleanup, err := openState(cfg, false)
	if err != nil {
		return err
	}
	defer cleanup()
	found := map[string]bool{}
	err = db.Update(func(tx *state.Tx) error {
		bans, err := tx.Bans()
		if err != nil {
			return err
		}
		for _, b := range bans {
			if (jail != "" && b.Jail != jail) || (!all && !targets[b.Prefix.String()]) {
				continue
			}
			found[b.Prefix.String()] = true
			if err := tx.DeleteBan(b.Jail, b.Prefix); err != nil {
				return err
			}
			// The address starts afresh: failures count again from now.
			if tr, err := tx.Track(b.Jail, b.Prefix); err != nil {
				return err
			} else if tr != nil && tr.BannedAt(g.now.UnixNano()) {
				tr.BanUntil = g.now.UnixNano()
				if tr.BanUntil <= tr.BanStart {
					tr.BanStart = tr.BanUntil - 1
				}
				if err := tx.PutTrack(b.Jail, b.Prefix, tr); err != nil {
					return err
				}
			}
			if !cfg.Digest.Enabled() {
				continue // the outbox is for a digest that will be sent
			}
			bb := b
			if err := tx.AddEvent(&state.Event{Kind: state.EventUnban, Time: g.now, Ban: &bb, Text: "by hand"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return stateError(err)
	}
	missing := 0
	for t := range targets {
		if !found[t] {
			missing++
			fmt.Fprintf(g.stderr, "logjail: no ban of %s%s\n", t, inJail(jail))
		}
	}
	if err := applyFirewall(ctx, g, cfg, db, fw); err != nil {
		return err
	}
	if missing > 0 {
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
