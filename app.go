package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
)

// globals holds what every command shares: the global flags and the
// standard streams.
type globals struct {
	configPath string
	statePath  string
	now        time.Time // the --now time, or the clock at start
	nowSet     bool
	verbose    bool
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	defConfig := "/etc/logjail/logjail.yaml"
	if env := os.Getenv("LOGJAIL_CONFIG"); env != "" {
		defConfig = env
	}
	app := &cli.App{
		Name:                 "logjail",
		Usage:                "ban addresses that fail to log in, from cron (fail2ban without the daemon)",
		Version:              versionString(),
		HideVersion:          true,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: false,
		// Never os.Exit behind our back: main maps errors to exit codes
		// and deferred cleanups must run.
		ExitErrHandler: func(*cli.Context, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: defConfig, Usage: "configuration `FILE` (env LOGJAIL_CONFIG)"},
			&cli.StringFlag{Name: "state", Usage: "state `FILE`, overriding the configuration's state:"},
			&cli.StringFlag{Name: "now", Usage: "act as if the current time were `TIME` (RFC 3339), for tests and reproducing a run"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say what is done"},
		},
		Before: func(c *cli.Context) error {
			g.configPath = c.String("config")
			g.statePath = c.String("state")
			g.verbose = c.Bool("verbose")
			g.now = time.Now()
			if s := c.String("now"); s != "" {
				t, err := parseTime(s)
				if err != nil {
					return usagef("--now %q: %v", s, err)
				}
				g.now, g.nowSet = t, true
			}
			return nil
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError(err)
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q (see logjail --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	app.Commands = []*cli.Command{
		runCommand(g),
		replayCommand(g),
		filterCommand(g),
		statusCommand(g),
		banCommand(g),
		unbanCommand(g),
		digestCommand(g),
		firewallCommand(g),
		configCommand(g),
		versionCommand(g),
		docsCommand(),
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

// setUsageErrors makes flag errors of every command exit 2.
func setUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError(err) }
	for _, s := range c.Subcommands {
		setUsageErrors(s)
	}
}

// parseTime accepts RFC 3339 and a bare date (midnight, local time).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2026-11-24T10:00:00Z) or a date (2026-11-24)")
}
