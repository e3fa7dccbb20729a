package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"logjail/internal/clidoc"
)

// docsCommand writes the manual pages and shell completions from the
// same definitions as --help; dist/package runs it on the binary it
// packages. Hidden: it is a build step, not an operator's command.
func docsCommand() *cli.Command {
	return &cli.Command{
		Name:      "gendocs",
		Usage:     "write the man pages and the bash and zsh completions into DIR",
		ArgsUsage: "DIR",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("gendocs: want one DIR")
			}
			return runDocs(c.App, docsOptions{dir: c.Args().First()})
		},
	}
}

// manExtra is what logjail(8) says beyond the command definitions.
var manExtra = []clidoc.Extra{
	{Heading: "DESCRIPTION", Text: `logjail is fail2ban without the daemon. Started every minute (by
logjail.timer, or by cron: /usr/share/doc/logjail/crontab.example), logjail
run reads the log lines written since the last run, counts authentication
failures per address in time windows kept in its state file, brings the
firewall (iptables, ipset or nftables) to exactly the bans that should be
active now, and mails a digest when one is due.

logjail replay runs the same engine over old logs into reports; logjail
filter test checks filters against log files. Every time decision follows
the lines' own timestamps, or --now.`},
	{Heading: "FILES", Text: `/etc/logjail/logjail.yaml:
    The configuration. Without it, an embedded default serves, which
    logjail config check prints: one jail per built-in filter on the usual
    log paths, only sshd enabled, firewall iptables.

/var/lib/logjail/state.db:
    The state (the configuration's state: key): bans, failures in their
    windows, log offsets, the digest's outbox.`},
	{Heading: "ENVIRONMENT", Text: `LOGJAIL_CONFIG:
    The configuration file when --config is not given.`},
	{Heading: "EXIT STATUS", Text: `0:
    Success.

1:
    A step failed at run time (firewall, mail, unreadable log); everything
    that could be kept was kept and the next run retries it.

2:
    A usage or configuration error; nothing was changed.

3:
    The state is locked by another run and the wait timed out; nothing was
    changed.`},
}

// docsOptions are gendocs' arguments.
type docsOptions struct {
	dir string // where man8/ and completion/ are written
}

func runDocs(app *cli.App, opts docsOptions) error {
	files := map[string][]byte{
		"completion/bash/logjail": clidoc.Bash(app, true), // options anywhere: cmdline.go
		"completion/zsh/_logjail": clidoc.Zsh(app, true),
	}
	for _, p := range clidoc.Man(app, 8, "logjail "+versionString(), manExtra) {
		files["man8/"+p.Name] = p.Text
	}
	for name, data := range files {
		path := filepath.Join(opts.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("gendocs: %w", err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("gendocs: %w", err)
		}
	}
	return nil
}
