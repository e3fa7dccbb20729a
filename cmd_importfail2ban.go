package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"logjail/config"
	"logjail/config/fail2ban"
)

func importFail2banCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "import-fail2ban",
		Usage:     "print a logjail configuration made from a fail2ban configuration (default /etc/fail2ban)",
		ArgsUsage: "[DIR]",
		Description: "Reads jail.conf, jail.d/*.conf, jail.local, jail.d/*.local, the paths-*.conf they include\n" +
			"and filter.d with its .local files, in fail2ban's configuration language, and prints the\n" +
			"enabled jails as logjail YAML, with a comment per jail saying where its values came from.\n" +
			"Filters logjail has built in are used where the jail keeps fail2ban's own expressions; other\n" +
			"filters become style: fail2ban mappings. Notes (settings logjail does not support, choices\n" +
			"made) go to stderr. Any problem is reported with its file and line, all at once, and exits 2\n" +
			"with nothing on stdout.",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("config import-fail2ban: one DIR at most, got %d", c.NArg())
			}
			o := importFail2banOptions{dir: "/etc/fail2ban"}
			if c.NArg() == 1 {
				o.dir = c.Args().First()
			}
			return runImportFail2ban(c.Context, e, o)
		},
	}
}

type importFail2banOptions struct {
	dir string
}

// runImportFail2ban reads, converts and checks; only a configuration that
// logjail's own parser accepts reaches stdout.
func runImportFail2ban(_ context.Context, e *env, o importFail2banOptions) error {
	stdout, stderr := e.stdout, e.stderr
	cfg, probs := fail2ban.Read(o.dir)
	if cfg != nil {
		// The jails that resolved are converted too, so that every
		// problem is reported in one go.
		imp, cprobs := fail2ban.Convert(cfg)
		probs = append(probs, cprobs...)
		if len(probs) == 0 {
			if _, err := config.Parse(bytes.NewReader(imp.YAML), "imported configuration"); err != nil {
				return usageError(fmt.Errorf("config import-fail2ban: the configuration made from %s does not pass config check (a bug in the import):\n%w", o.dir, err))
			}
			for _, n := range imp.Notes {
				fmt.Fprintf(stderr, "logjail: note: %s\n", n)
			}
			enabled := 0
			for _, j := range cfg.Jails {
				if j.Enabled {
					enabled++
				}
			}
			fmt.Fprintf(stderr, "logjail: imported %d enabled jails of %d from %s: %d with a built-in filter, %d with a fail2ban-style filter\n",
				enabled, len(cfg.Jails), o.dir, imp.Builtin, imp.Imported)
			_, err := stdout.Write(imp.YAML)
			return err
		}
	}
	msgs := make([]string, len(probs))
	for i, p := range probs {
		msgs[i] = p.Error()
	}
	return usageError(errors.New(strings.Join(msgs, "\n")))
}
