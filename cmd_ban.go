package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"logjail/enforce"
	"logjail/report"
	"logjail/runner"
)

func banCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "ban",
		Usage:     "ban addresses or networks by hand (- reads one per line from stdin)",
		ArgsUsage: "(IP|CIDR)... | -",
		Description: "Bans go into the state and the firewall before the command returns: the state\n" +
			"first, then the firewall (ipset and nftables prepare a large change while the state\n" +
			"commits; see README \"How ban applies a large ban\"). Without --jail\n" +
			"they belong to the jail \"manual\", which blocks every port and lasts until unbanned;\n" +
			"with --jail they block that jail's ports for its bantime (growing with\n" +
			"bantime_increment, which counts bans by hand too), unless --for says otherwise.\n" +
			"A ban never shortens one held already: a longer or permanent ban stays, and says so.\n" +
			"An address or network that overlaps loopback, an address of this machine or any\n" +
			"jail's ignoreip is refused (exit 2) before anything is written.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "jail", Usage: "the jail the ban belongs to (default: manual, all ports)"},
			&cli.StringFlag{Name: "for", Usage: "ban for `DURATION` (1h, 2d, permanent); default: the jail's bantime"},
		},
		Action: func(c *cli.Context) error {
			return runBan(c.Context, e, banOptions{jail: c.String("jail"), duration: c.String("for"), args: c.Args().Slice()})
		},
	}
}

type banOptions struct {
	jail, duration string
	args           []string // addresses and networks, or "-"
}

func runBan(ctx context.Context, e *env, o banOptions) error {
	// A ban of many (ban -) allocates as the run does: collecting at
	// every doubling of the heap cost CPU beside the firewall's restore
	// for no memory saved. GOGC, when set, still decides.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(300))
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	targets, err := parseTargets(o.args, e.stdin)
	if err != nil {
		return err
	}
	fw, err := e.firewall(cfg)
	if err != nil {
		return err
	}
	bo := runner.BanOptions{Config: cfg, Now: e.now, Jail: o.jail, For: o.duration, Targets: targets, Guard: e.guard(cfg), Firewall: fw}
	if _, _, _, err := bo.Check(); err != nil {
		return err // before the state is opened (or created)
	}
	db, closeDB, err := e.state(cfg, false)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := runner.Ban(ctx, db, bo)
	if err != nil {
		return stateError(err)
	}
	for _, b := range res.Kept {
		held := "for good"
		if !b.Permanent() {
			held = "until " + report.Time(b.Until)
		}
		fmt.Fprintf(e.stdout, "%s %s: banned %s already; kept (a ban is never shortened)\n", b.Jail, enforce.Addr(b.Prefix), held)
	}
	if err := firewallDone(e, fw, res.Firewall); err != nil {
		return err
	}
	return res.FleetErr
}

// firewallDone reports a change by hand's firewall step: what the guard
// refused (exit 1) and, with --verbose, what changed.
func firewallDone(e *env, fw enforce.Backend, d enforce.Diff) error {
	printRefused(e.stderr, d.Refused)
	if e.verbose {
		fmt.Fprintf(e.stdout, "firewall (%s): %d added, %d removed\n", fw.Kind(), len(d.Added), len(d.Removed))
	}
	if len(d.Refused) > 0 {
		return errSilent
	}
	return nil
}

// parseTargets reads addresses and networks from args, or from r (one per
// line, # comments and blank lines skipped) when args is "-".
func parseTargets(args []string, r io.Reader) ([]netip.Prefix, error) {
	if len(args) == 0 {
		return nil, usagef("name addresses or networks, or - to read them from standard input")
	}
	if len(args) == 1 && args[0] == "-" {
		// Read whole, as one string that every line is cut from: a
		// string and a slice step per line made 19 MB of garbage for
		// `ban -` of 100,000.
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		text := string(data)
		out := make([]netip.Prefix, 0, strings.Count(text, "\n")+1)
		for n := 1; text != ""; n++ {
			line, rest, _ := strings.Cut(text, "\n")
			text = rest
			w := strings.TrimSpace(line)
			if w == "" || w[0] == '#' {
				continue
			}
			p, err := parseTarget(w)
			if err != nil {
				return nil, usagef("stdin line %d %q: %v", n, w, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	out := make([]netip.Prefix, 0, len(args))
	for _, w := range args {
		p, err := parseTarget(w)
		if err != nil {
			return nil, usagef("argument %q: %v", w, err)
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
