package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"logjail/config"
	"logjail/enforce"
	"logjail/report"
	"logjail/runner"
	"logjail/state"
)

// manualJail holds bans given by hand without --jail: every port.
const manualJail = "manual"

func banCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "ban",
		Usage:     "ban addresses or networks by hand (- reads one per line from stdin)",
		ArgsUsage: "(IP|CIDR)... | -",
		Description: "Bans go into the state and the firewall before the command returns. Without --jail\n" +
			"they belong to the jail \"manual\", which blocks every port and lasts until unbanned;\n" +
			"with --jail they block that jail's ports for its bantime, unless --for says otherwise.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "jail", Usage: "the jail the ban belongs to (default: manual, all ports)"},
			&cli.StringFlag{Name: "for", Usage: "ban for `DURATION` (1h, 2d, permanent); default: the jail's bantime"},
		},
		Action: func(c *cli.Context) error {
			return runBan(c.Context, g, c.String("jail"), c.String("for"), c.Args().Slice())
		},
	}
}

// parseTargets reads addresses and networks from args, or from r (one per
// line, # comments and blank lines skipped) when args is "-".
func parseTargets(args []string, r io.Reader) ([]netip.Prefix, error) {
	if len(args) == 0 {
		return nil, usagef("name addresses or networks, or - to read them from standard input")
	}
	var words []string
	var src []string
	if len(args) == 1 && args[0] == "-" {
		sc := bufio.NewScanner(r)
		for n := 1; sc.Scan(); n++ {
			w := strings.TrimSpace(sc.Text())
			if w == "" || w[0] == '#' {
				continue
			}
			words = append(words, w)
			src = append(src, fmt.Sprintf("stdin line %d", n))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
	} else {
		words = args
		for range args {
			src = append(src, "argument")
		}
	}
	out := make([]netip.Prefix, 0, len(words))
	for i, w := range words {
		p, err := parseTarget(w)
		if err != nil {
			return nil, usagef("%s %q: %v", src[i], w, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseTarget(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an address or CIDR network")
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not an address or CIDR network")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func runBan(ctx context.Context, g *globals, jail, forS string, args []string) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	targets, err := parseTargets(args, g.stdin)
	if err != nil {
		return err
	}
	var d time.Duration
	permanent := true
	j := (*config.Jail)(nil)
	if jail != "" && jail != manualJail {
		if j = cfg.Jail(jail); j == nil {
			return usagef("ban: no jail %q in %s", jail, cfg.File)
		}
		d, permanent = j.BanDuration(1)
	} else {
		jail = manualJail
	}
	if forS != "" {
		if d, permanent, err = config.ParseBanTime(forS); err != nil {
			return usagef("ban: --for %q: %v", forS, err)
		}
	}
	for _, p := range targets {
		if j != nil && j.Ignores(p.Addr()) {
			return usagef("ban: %s is in jail %s's ignoreip", report.IP(p), jail)
		}
		if p.Addr().IsLoopback() || p.Addr().IsUnspecified() || p.Contains(netip.IPv6Loopback()) || p.Contains(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
			return usagef("ban: %s would block this machine's own loopback traffic", report.IP(p))
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
	now := g.now
	err = db.Update(func(tx *state.Tx) error {
		bans := make([]*state.Ban, len(targets))
		for i, p := range targets {
			b := &state.Ban{Jail: jail, Prefix: p, Start: now, Offense: 1, Manual: true}
			if !permanent {
				b.Until = now.Add(d)
			}
			bans[i] = b
		}
		if err := tx.PutBans(bans); err != nil {
			return err
		}
		if err := tx.AddHistories(bans); err != nil {
			return err
		}
		if !cfg.Digest.Enabled() {
			return nil // the outbox is for a digest that will be sent
		}
		for _, b := range bans {
			if err := tx.AddEvent(&state.Event{Kind: state.EventBan, Time: now, Ban: b}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return stateError(err)
	}
	return applyFirewall(ctx, g, cfg, db, fw)
}

// firewallFor builds the configured firewall backend, or nil for none.
func firewallFor(cfg *config.Config) (enforce.Backend, error) {
	if cfg.Firewall.Backend == config.BackendNone {
		return nil, nil
	}
	fw, err := newFirewall(cfg)
	if err != nil {
		return nil, usageError(err)
	}
	return fw, nil
}

// applyFirewall reconciles the firewall with the state; refusals and
// failures are reported, and the state keeps the desired bans so that the
// next run retries.
func applyFirewall(ctx context.Context, g *globals, cfg *config.Config, db *state.DB, fw enforce.Backend) error {
	if fw == nil {
		return nil
	}
	d, err := runner.Enforce(ctx, cfg, db, fw, g.now)
	if err != nil {
		return fmt.Errorf("%w (the state keeps the bans; the next run retries)", err)
	}
	for _, r := range d.Refused {
		fmt.Fprintf(g.stderr, "logjail: not enforced: %s\n", r)
	}
	if g.verbose {
		fmt.Fprintf(g.stdout, "firewall (%s): %d added, %d removed\n", fw.Kind(), len(d.Added), len(d.Removed))
	}
	if len(d.Refused) > 0 {
		return errSilent
	}
	return nil
}
