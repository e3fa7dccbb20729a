package main

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestReorderArgs checks the command lines of issue 17, with the app's own
// definitions: what each becomes is what urfave/cli parses.
func TestReorderArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, c := range []struct{ name, in, want string }{
		// Global options after the command, and before it (unchanged).
		{"verbose after", "run --verbose", "--verbose run"},
		{"-v after", "run -v", "-v run"},
		{"-v before", "-v run", "-v run"},
		{"config after", "status --config /etc/logjail/test.yaml", "--config /etc/logjail/test.yaml status"},
		{"config= after", "status --config=/etc/t.yaml --format json", "--config=/etc/t.yaml status --format json"},
		{"globals both sides", "--now 2026-11-24 run --dry-run --state s.db -v", "--now 2026-11-24 --state s.db -v run --dry-run"},
		{"global after the arguments", "replay a.log --config c.yaml", "--config c.yaml replay a.log"},
		{"global after a subcommand", "filter test --filter sshd a.log --now 2026-11-24", "--now 2026-11-24 filter test --filter sshd a.log"},
		{"single dash long option", "run -verbose -format json", "-verbose run -format json"},

		// Options after the arguments.
		{"replay format after file", "replay auth.log --format json", "replay --format json auth.log"},
		{"replay files then options", "replay a.log b.log.1.gz --format html --output r.html", "replay --format html --output r.html a.log b.log.1.gz"},
		{"replay -o alias", "replay a.log -o r.html", "replay -o r.html a.log"},
		{"options between files", "replay a.log --jail sshd b.log --from 2026-11-01", "replay --jail sshd --from 2026-11-01 a.log b.log"},
		{"filter test after file", "filter test auth.log --filter sshd", "filter test --filter sshd auth.log"},
		{"filter test --json after", "filter test auth.log --filter sshd --json", "filter test --filter sshd --json auth.log"},
		{"ban --for after address", "ban 198.51.100.7 --for 1h", "ban --for 1h 198.51.100.7"},
		{"unban --jail after", "unban 198.51.100.7 --jail sshd", "unban --jail sshd 198.51.100.7"},
		{"options before the subcommand", "filter --json test --filter sshd a.log", "filter test --json --filter sshd a.log"},
		{"command option before the command", "--dry-run run", "run --dry-run"},
		{"help after the arguments", "replay a.log --help", "replay --help"},
		{"help before the command", "--help run", "run --help"},
		{"help alone", "-h", "-h"},

		// -- ends the options; - is an argument.
		{"-- then dashed files", "replay --format json -- -x --format", "replay --format json -- -x --format"},
		{"files both sides of --", "replay a.log --format csv -- --b.log", "replay --format csv -- a.log --b.log"},
		{"-- then a global", "replay -- --verbose", "replay -- --verbose"},
		{"stdin after options", "filter test --filter sshd --json -", "filter test --filter sshd --json -"},
		{"stdin before options", "filter test - --filter sshd --json", "filter test --filter sshd --json -"},
		{"ban from stdin", "ban - --jail sshd", "ban --jail sshd -"},
		{"output to stdout", "replay a.log --output -", "replay --output - a.log"},

		// Values starting with -, and repeated options.
		{"value starting with -", "filter test a.log --regex -x", "filter test --regex -x a.log"},
		{"value that is an option's name", "filter test a.log --regex --verbose", "filter test --regex --verbose a.log"},
		{"value -- is a value", "filter test a.log --regex --", "filter test --regex -- a.log"},
		{"value after =", "filter test a.log --regex=-x", "filter test --regex=-x a.log"},
		{"repeated regex", "filter test --regex a a.log --regex b --ignoreregex c", "filter test --regex a --regex b --ignoreregex c a.log"},
		{"repeated jail and set", "replay a.log --jail sshd --set maxretry=3 b.log --jail dovecot --set findtime=1h",
			"replay --jail sshd --set maxretry=3 --jail dovecot --set findtime=1h a.log b.log"},
		{"repeated global", "run -v --verbose", "-v --verbose run"},
		{"a boolean takes no word", "filter test --json a.log", "filter test --json a.log"},
		{"boolean=false", "unban --all=false 192.0.2.1", "unban --all=false 192.0.2.1"},

		// Mistakes stay where the parser names them.
		{"mistyped option", "replay a.log --fromat html", "replay --fromat a.log html"},
		{"mistyped global", "--vrebose run", "run --vrebose"},
		{"missing value at the end", "ban 198.51.100.7 --for", "ban --for"},
		{"global missing its value", "run --dry-run --config", "--config"},
		{"unknown command", "nosuch --verbose x", "nosuch --verbose x"},
		{"unknown subcommand", "filter nosuch --json", "filter nosuch --json"},
		{"help command", "help run", "help run"},
		{"nothing", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := append([]string{"logjail"}, strings.Fields(c.in)...)
			want := append([]string{"logjail"}, strings.Fields(c.want)...)
			if got := reorderArgs(app, in); !slices.Equal(got, want) {
				t.Errorf("reorderArgs(%q)\n got %q\nwant %q", c.in, got, want)
			}
		})
	}
}

// TestReorderArgsShadowed: a command's own option of a global's name is
// the command's.
func TestReorderArgsShadowed(t *testing.T) {
	app := &cli.App{
		Flags: []cli.Flag{&cli.StringFlag{Name: "state"}, &cli.BoolFlag{Name: "verbose"}},
		Commands: []*cli.Command{{
			Name:  "show",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "state"}},
		}},
	}
	got := reorderArgs(app, []string{"x", "show", "a", "--state", "b", "--verbose"})
	want := []string{"x", "--verbose", "show", "--state", "a", "b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestReorderArgsParsed runs the reordered command lines through the app
// and checks what the commands received.
func TestReorderArgsParsed(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"filter", "test", "a.log", "--regex", "-x", "--regex", "b", "--now", "2026-11-24T00:00:00Z", "-v"},
			`now=2026-11-24T00:00:00Z verbose=true regex=[-x b] args=[a.log]`},
		{[]string{"filter", "test", "--regex", "r", "--", "-x", "--json", "-"},
			`now= verbose=false regex=[r] args=[-x --json -]`},
		{[]string{"-v=false", "filter", "test", "-", "--regex", "--", "x"},
			`now= verbose=false regex=[--] args=[- x]`},
	} {
		var got string
		app := newApp(strings.NewReader(""), io.Discard, io.Discard)
		test := findCommand(findCommand(app.Commands, "filter").Subcommands, "test")
		test.Action = func(ctx *cli.Context) error {
			got = "now=" + ctx.String("now") + " verbose=" + strconv.FormatBool(ctx.Bool("verbose")) +
				" regex=" + "[" + strings.Join(ctx.StringSlice("regex"), " ") + "]" +
				" args=[" + strings.Join(ctx.Args().Slice(), " ") + "]"
			return nil
		}
		if err := app.Run(reorderArgs(app, append([]string{"logjail"}, c.in...))); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// TestHelpRoutes shows the help of every command by each route urfave/cli
// has to it (--help, -h, the help command, a command with subcommands
// alone): each prints the command's template, made when a help is shown,
// with where options go and the global options, never the mark that
// stands for it.
func TestHelpRoutes(t *testing.T) {
	var routes [][]string
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := append(slices.Clone(path), c.Name)
			routes = append(routes, append(slices.Clone(p), "--help"), append(slices.Clone(p), "-h"))
			if len(c.Subcommands) > 0 {
				// "help fleet" stops after the usage: urfave/cli v2.27.7
				// lists the subcommands of a command it has not set up
				// (its template fails on a nil category list), with or
				// without our templates.
				routes = append(routes, p)
			} else {
				routes = append(routes, append(append(slices.Clone(path), "help"), c.Name))
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(strings.NewReader(""), io.Discard, io.Discard).Commands)
	if len(routes) < 40 {
		t.Fatalf("only %d routes: the commands were not found", len(routes))
	}
	for _, r := range routes {
		var out, errOut strings.Builder
		code := realMain(append([]string{"logjail"}, r...), strings.NewReader(""), &out, &errOut)
		name := strings.Join(slices.DeleteFunc(slices.Clone(r), func(w string) bool { return w == "help" || w[0] == '-' }), " ")
		for _, want := range []string{
			"\n   logjail " + name + " ",
			"\n   Options, global ones too, go before or after the command and its arguments;\n",
			"\nGLOBAL OPTIONS:\n   --config FILE  configuration FILE (env LOGJAIL_CONFIG) (default: ",
			"\n   --verbose, -v  say what is done (default: false)\n",
		} {
			if code != 0 || !strings.Contains(out.String(), want) {
				t.Errorf("logjail %s: exit %d, stdout lacks %q:\n%s%s", strings.Join(r, " "), code, want, out.String(), errOut.String())
			}
		}
		if strings.Contains(out.String(), "logjail: the help template") {
			t.Errorf("logjail %s prints the mark, not the template:\n%s", strings.Join(r, " "), out.String())
		}
	}
}
