package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	g := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	defConfig := "/etc/logjail/logjail.yaml"
	if env := os.Getenv("LOGJAIL_CONFIG"); env != "" {
		defConfig = env
	}
	app := &cli.App{
		Name:                 "logjail",
		Usage:                "ban addresses that fail to log in, from cron (fail2ban without the daemon)",
		HideVersion:          true, // the version command says it
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
			return optionError("", err, c.App.Flags)
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
		fleetCommand(g),
		versionCommand(g),
		docsCommand(),
	}
	app.UsageText = "logjail [global options] COMMAND [arguments and options...]\n\n" + anywhere
	app.Description = "Examples:\n" +
		"  logjail run -v\n" +
		"  logjail replay /var/log/auth.log* --format html --output week.html\n" +
		"  logjail filter test /var/log/auth.log --filter sshd\n" +
		"  logjail ban 198.51.100.7 --for 1h\n" +
		"  logjail status --config /etc/logjail/test.yaml"
	for _, c := range app.Commands {
		setupCommand(c, "logjail "+c.Name, app.Flags)
	}
	// urfave/cli prints every help through HelpPrinter; ours makes the
	// commands' templates when a help is shown, not at every start. It is
	// the process's one app's (tests that make several print no help
	// from an older one). global is the four options above: the --help
	// that app.Setup appends is listed among each command's own.
	help := &helpTemplates{global: app.Flags}
	cli.HelpPrinter = help.print
	return app
}

// anywhere says where options go; every --help says it.
const anywhere = "Options, global ones too, go before or after the command and its arguments;\n" +
	"-- ends them (a file named -x goes after it); - is standard input."

// helpTemplates are the help templates of every command: one for a command
// with arguments and options, one for a command with subcommands. Both show
// where options go and the global options. They are made at the first help
// shown: the global options' text is most of newApp's work, and a cron run
// shows no help.
type helpTemplates struct {
	global          []cli.Flag
	command, parent string // "" until made
}

// A command's CustomHelpTemplate is one of these marks, which print
// replaces with the template it stands for.
const (
	commandHelp = "logjail: the help template of a command"
	parentHelp  = "logjail: the help template of a command with subcommands"
)

// print is urfave/cli's HelpPrinter with the marks replaced by the
// templates (made here the first time).
func (h *helpTemplates) print(w io.Writer, templ string, data any) {
	switch templ {
	case commandHelp:
		h.make()
		templ = h.command
	case parentHelp:
		h.make()
		templ = h.parent
	}
	cli.HelpPrinterCustom(w, templ, data, nil)
}

// make makes the help templates, once for all the commands.
func (h *helpTemplates) make() {
	if h.command != "" {
		return
	}
	where := "\n\n   " + strings.ReplaceAll(anywhere, "\n", "\n   ")
	tail := "\nGLOBAL OPTIONS:\n" + globalOptionsHelp(h.global)
	fill := func(tmpl, usage string) string {
		return strings.Replace(tmpl, `{{template "usageTemplate" .}}`, usage+where, 1) + tail
	}
	h.command = fill(cli.CommandHelpTemplate, "{{.HelpName}}{{if .ArgsUsage}} {{.ArgsUsage}}{{end}} [options]")
	h.parent = fill(cli.SubcommandHelpTemplate, "{{.HelpName}} COMMAND [arguments and options...]")
}

// setupCommand gives the command c (named name) and those below it their
// help, which shows the global options, and their usage errors: exit 2,
// one line naming the option.
func setupCommand(c *cli.Command, name string, global []cli.Flag) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return optionError(name, err, append(append([]cli.Flag{}, c.Flags...), global...))
	}
	c.CustomHelpTemplate = commandHelp
	if len(c.Subcommands) > 0 {
		c.CustomHelpTemplate = parentHelp
	}
	if len(c.Subcommands) > 0 && c.Action == nil {
		c.Action = func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return usagef("%s: unknown command %q (see %s --help)", strings.TrimPrefix(name, "logjail "), ctx.Args().First(), name)
			}
			return cli.ShowSubcommandHelp(ctx)
		}
	}
	for _, s := range c.Subcommands {
		setupCommand(s, name+" "+s.Name, global)
	}
}

// globalOptionsHelp lists the global options as a help template does,
// quoted for the template.
func globalOptionsHelp(flags []cli.Flag) string {
	var b strings.Builder
	for _, f := range flags {
		b.WriteString("   " + f.String() + "\n")
	}
	return "{{" + strconv.Quote(b.String()) + "}}"
}

// optionError turns the flag parser's error into a usage error (exit 2) on
// one line, in the options' own spelling: an unknown option with the
// nearest known one of flags, a missing value with the option named. cmd
// names the command ("" for none).
func optionError(cmd string, err error, flags []cli.Flag) error {
	prefix := ""
	if cmd != "" {
		prefix = strings.TrimPrefix(cmd, "logjail ") + ": "
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		hint := " (an argument of that name goes after --)"
		if cli.SuggestFlag != nil {
			if s := cli.SuggestFlag(flags, name, false); s != "" {
				hint = ": did you mean " + s + "?"
			}
		}
		return usagef("%sunknown option %s%s", prefix, dashed(name), hint)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return usagef("%soption %s needs a value", prefix, dashed(name))
	}
	return usagef("%s%s", prefix, msg)
}

// dashed spells an option as typed: -v, --verbose.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
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
