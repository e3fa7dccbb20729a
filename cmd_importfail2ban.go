package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

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

// runImportFail2ban prints the imported configuration; its notes and
// counts go to stderr. Every problem is a configuration error (exit 2).
func runImportFail2ban(_ context.Context, e *env, o importFail2banOptions) error {
	imp, err := fail2ban.ImportDir(o.dir)
	if err != nil {
		var probs fail2ban.Problems
		if errors.As(err, &probs) {
			return usageError(err)
		}
		return usageError(fmt.Errorf("config import-fail2ban: %w", err))
	}
	for _, n := range imp.Notes {
		fmt.Fprintf(e.stderr, "logjail: note: %s\n", n)
	}
	fmt.Fprintf(e.stderr, "logjail: imported %d enabled jails of %d from %s: %d with a built-in filter, %d with a fail2ban-style filter\n",
		imp.Enabled, imp.Jails, o.dir, imp.Builtin, imp.Imported)
	_, err = e.stdout.Write(imp.YAML)
	return err
}
