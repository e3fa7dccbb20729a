package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"logjail/config"
)

func configCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "check the configuration, or import fail2ban's",
		Subcommands: []*cli.Command{importFail2banCommand(g), {
			Name:  "check",
			Usage: "report every error with its line (exit 2), or print the effective configuration",
			Action: func(c *cli.Context) error {
				return runConfigCheck(g)
			},
		}},
	}
}

func runConfigCheck(g *globals) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	printNotes(g, cfg)
	return cfg.Format(g.stdout)
}

// printNotes says on stderr what the embedded default chose and what
// would count twice.
func printNotes(g *globals, cfg *config.Config) {
	for _, n := range append(cfg.Notes, cfg.DoubleCounting()...) {
		fmt.Fprintf(g.stderr, "logjail: %s\n", n)
	}
}

// loadConfig reads the configuration named by --config; any problem with it
// is a configuration error (exit 2), each on its own line.
func loadConfig(g *globals) (*config.Config, error) {
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return nil, usageError(err)
	}
	if g.statePath != "" {
		cfg.State = g.statePath
	}
	return cfg, nil
}
