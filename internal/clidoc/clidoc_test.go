package clidoc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"logjail/internal/testenv"
)

// testApp has what the generators must handle: nested commands, aliases,
// a hidden command and flag, flags with and without values, text that
// roff or markdown would eat.
func testApp() *cli.App {
	return &cli.App{
		Name:        "jailer",
		Usage:       "ban things",
		Description: "Examples:\n  jailer run --dry-run\n  jailer filter test auth.log",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Value: "/etc/jailer.yaml", Usage: "configuration `FILE`"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say more"},
			&cli.BoolFlag{Name: "secret", Hidden: true},
		},
		Commands: []*cli.Command{
			{Name: "run", Usage: "run once", Flags: []cli.Flag{
				&cli.BoolFlag{Name: "dry-run", Usage: "change nothing"},
				&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
			}},
			{Name: "filter", Aliases: []string{"f"}, Usage: "work on filters", Subcommands: []*cli.Command{
				{Name: "test", Usage: "test a filter", ArgsUsage: "FILE...", Description: "Reads the files.\n.TH is not a request here.\n\nA second paragraph with a back\\slash.", Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "regex", Usage: "a failregex `RE` with <HOST>"},
				}},
				{Name: "list", Usage: "list filters"},
			}},
			{Name: "gendocs", Hidden: true},
		},
	}
}

func TestMan(t *testing.T) {
	pages := Man(testApp(), 8, "jailer 1.0", []Extra{
		{Heading: "FILES", Text: "/etc/jailer.yaml:\n    The configuration."},
		{Heading: "DESCRIPTION", Text: "jailer bans things."},
	})
	var names []string
	text := map[string]string{}
	for _, p := range pages {
		names = append(names, p.Name)
		text[p.Name] = string(p.Text)
	}
	if got, want := strings.Join(names, " "), "jailer.8 jailer-run.8 jailer-filter.8"; got != want {
		t.Fatalf("pages %q, want %q (no page for the hidden command)", got, want)
	}
	groff := testenv.Tool(t, "groff")
	dir := t.TempDir()
	for name, want := range map[string][]string{
		"jailer.8": {"JAILER", "GLOBAL OPTIONS", "--config FILE", "(default: /etc/jailer.yaml)", "--verbose, -v",
			"COMMANDS", "filter, f", "See jailer-filter(8).", "FILES", "/etc/jailer.yaml", "jailer-run(8), jailer-filter(8)"},
		"jailer-run.8": {"jailer-run - run once", "jailer [global options] run [options]", "--dry-run", "--format VALUE", "(default: table)", "SEE ALSO", "jailer(8)"},
		"jailer-filter.8": {"jailer [global options] filter test [options] FILE...", "jailer [global options] filter list [options]",
			"FILTER TEST", ".TH is not a request here.", "back\\slash", "--regex RE", "a failregex RE with <HOST> (repeatable)", "FILTER LIST"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text[name]), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(groff, "-t", "-man", "-ww", "-Tutf8", "-rLL=200n", path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("groff %s: %v: %s", name, err, stderr.String())
		}
		// groff marks bold and italics with backspaces; drop them.
		plain := stripOverstrike(string(out))
		for _, w := range want {
			if !strings.Contains(plain, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, plain)
			}
		}
		if name == "jailer.8" {
			if n := strings.Count(plain, "DESCRIPTION"); n != 1 {
				t.Errorf("%s has %d DESCRIPTION sections:\n%s", name, n, plain)
			}
			if i, j := strings.Index(plain, "jailer bans things."), strings.Index(plain, "Examples:"); i < 0 || j < i {
				t.Errorf("%s: the extra description is not before the application's:\n%s", name, plain)
			}
			// Indented example lines stay lines; text around them is filled.
			for _, l := range []string{"Examples:", "jailer run --dry-run", "jailer filter test auth.log"} {
				if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(l) + `$`).MatchString(plain) {
					t.Errorf("%s: %q is not a line of its own:\n%s", name, l, plain)
				}
			}
		}
		if strings.Contains(plain, "secret") || strings.Contains(plain, "gendocs") {
			t.Errorf("%s shows the hidden flag or command:\n%s", name, plain)
		}
	}
}

// stripOverstrike removes groff's "c\bc" bold and "_\bc" underline.
func stripOverstrike(s string) string {
	b := []rune(s)
	var out []rune
	for i := 0; i < len(b); i++ {
		if i+2 < len(b) && b[i+1] == '\b' {
			continue
		}
		if b[i] == '\b' {
			continue
		}
		out = append(out, b[i])
	}
	// groff -Tutf8 writes the minus of \- as U+2212.
	return strings.ReplaceAll(string(out), "\u2212", "-")
}

func TestBash(t *testing.T) {
	bash := testenv.Tool(t, "bash")
	dir := t.TempDir()
	scripts := map[bool]string{false: filepath.Join(dir, "jailer"), true: filepath.Join(dir, "jailer-anywhere")}
	for anywhere, path := range scripts {
		if err := os.WriteFile(path, Bash(testApp(), anywhere), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		line, want string
		anywhere   bool
	}{
		{line: "jailer ", want: "run filter f"},
		{line: "jailer f", want: "filter f"},
		{line: "jailer --", want: "--config --verbose --help"},
		{line: "jailer --config run ", want: "run filter f"}, // run is --config's value
		{line: "jailer --config ", want: ""},                 // a value: files
		{line: "jailer -v filter ", want: "test list"},
		{line: "jailer f t", want: "test"},
		{line: "jailer filter test --", want: "--regex --help"},
		{line: "jailer filter test --regex x ", want: ""},
		{line: "jailer run --f", want: "--format"},
		{line: "jailer run x ", want: ""},
		// The global options after the command, where logjail takes them;
		// a command's own option of the same name (help) once.
		{line: "jailer run --", want: "--dry-run --format --help --config --verbose", anywhere: true},
		{line: "jailer filter test --regex x --c", want: "--config", anywhere: true},
		{line: "jailer run --config ", want: "", anywhere: true},
		{line: "jailer run --", want: "--dry-run --format --help", anywhere: false},
	} {
		t.Run(fmt.Sprintf("%s/anywhere=%v", c.line, c.anywhere), func(t *testing.T) {
			// COMP_WORDS as bash splits the line; an empty last word when
			// the line ends in a space.
			words := strings.Fields(c.line)
			if strings.HasSuffix(c.line, " ") {
				words = append(words, "")
			}
			var quoted []string
			for _, w := range words {
				quoted = append(quoted, shQuote(w))
			}
			prog := "source " + shQuote(scripts[c.anywhere]) + "\n" +
				"COMP_WORDS=(" + strings.Join(quoted, " ") + ")\n" +
				"COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n" +
				"_jailer\n" +
				`echo "${COMPREPLY[*]}"` + "\n" +
				"complete -p jailer\n"
			out, err := exec.Command(bash, "--norc", "-c", prog).CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("bash printed %q", out)
			}
			if got := strings.Join(strings.Fields(lines[0]), " "); got != c.want {
				t.Errorf("completions %q, want %q", got, c.want)
			}
			if lines[1] != "complete -o default -F _jailer jailer" {
				t.Errorf("registered as %q", lines[1])
			}
		})
	}
}

func TestZsh(t *testing.T) {
	zsh := testenv.Tool(t, "zsh")
	script := Zsh(testApp(), false)
	if !strings.HasPrefix(string(script), "#compdef jailer\n") {
		t.Fatalf("no #compdef line:\n%s", script)
	}
	path := filepath.Join(t.TempDir(), "_jailer")
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// Outside a completion widget words and CURRENT are plain variables;
	// _describe and _files are stubbed to print what they were given.
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"jailer", ""}, "run:run once filter:work on filters f:work on filters"},
		{[]string{"jailer", "--"}, "--config:configuration FILE --verbose:say more -v:say more --help:show help -h:show help"},
		{[]string{"jailer", "--config", ""}, "FILES"},
		{[]string{"jailer", "--config", "run", ""}, "run:run once filter:work on filters f:work on filters"},
		{[]string{"jailer", "f", ""}, "test:test a filter list:list filters"},
		{[]string{"jailer", "filter", "test", "--r"}, "--regex:a failregex RE with <HOST> --help:show help -h:show help"},
		{[]string{"jailer", "filter", "test", "x", ""}, "FILES"},
	} {
		var quoted []string
		for _, w := range c.words {
			quoted = append(quoted, shQuote(w))
		}
		prog := "_describe() { local name=${@[-1]}; print -r -- \"${(@P)name}\" }\n" +
			"_files() { print FILES }\n" +
			"words=(jailer ''); CURRENT=2\n" +
			"source " + shQuote(path) + " >/dev/null\n" +
			"words=(" + strings.Join(quoted, " ") + "); CURRENT=${#words}\n" +
			"_jailer\n"
		out, err := exec.Command(zsh, "-f", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%q: completions %q, want %q", c.words, got, c.want)
		}
	}
}
