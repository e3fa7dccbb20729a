package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/config"
	"logjail/remote"
)

func configCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "check the configuration, or import fail2ban's",
		Subcommands: []*cli.Command{importFail2banCommand(e), {
			Name:  "check",
			Usage: "report every error with its line (exit 2), or print the effective configuration",
			Action: func(c *cli.Context) error {
				return runConfigCheck(c.Context, e, configCheckOptions{})
			},
		}},
	}
}

type configCheckOptions struct{}

func runConfigCheck(_ context.Context, e *env, _ configCheckOptions) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	printNotes(e, cfg)
	if cfg.Digest.Enabled() || cfg.Fleet.Enabled() {
		// The digest's mail and the fleet go through logjail-net: say
		// now, not at the first digest or exchange, that it is missing.
		if _, err := remote.Path(); err != nil {
			fmt.Fprintf(e.stderr, "logjail: the digest's mail and the fleet will fail: %v\n", err)
		}
	}
	return cfg.Format(e.stdout)
}

// printNotes says on stderr what the embedded default chose and what
// would count twice.
func printNotes(e *env, cfg *config.Config) {
	for _, n := range append(cfg.Notes, cfg.DoubleCounting()...) {
		fmt.Fprintf(e.stderr, "logjail: %s\n", n)
	}
}
