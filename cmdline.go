package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs returns the command line args (the program's name first) in
// the order urfave/cli v2 parses it, so that options may be typed anywhere:
//
//	logjail replay auth.log --format json -v
//	logjail --verbose replay --format json auth.log     (what it becomes)
//
// urfave/cli v2 reads the global options only before the command name and
// a command's options only before its first argument (Go's flag package
// stops there). reorderArgs moves, using the app's own definitions, every
// global option before the command name and every other option right after
// the command (and subcommand) name, each with its value, in the order
// typed; the arguments follow in their order. Besides:
//
//   - "--" ends the options: everything after it is an argument, kept
//     after a "--" (so a file named "-x" or "--format" can be given);
//   - "-" is an argument (standard input);
//   - an option that takes a value takes the next word whatever it is
//     (--regex '-x'), as the flag package does; --opt=value is one word;
//   - a repeated option stays repeated, in order;
//   - an option the definitions do not know stays among the command's own
//     options, where the parser rejects it by name; a word after it is an
//     argument;
//   - a command's own option of the same name as a global one wins;
//   - from an unknown command name on, nothing is moved (the app says the
//     command is unknown; "help" is urfave/cli's own);
//   - an option missing its value at the end stays last, so that the
//     parser says it needs one;
//   - with --help (-h) after a command name the arguments are dropped
//     (urfave/cli would take the first for a help topic).
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	type opt struct {
		name  string
		words []string
	}
	var (
		opts     []opt    // in the order typed
		path     []string // the command names, as typed
		pos      []string // the arguments
		leaf     *cli.Command
		dashdash bool
		dangling *opt
		commands = app.Commands
	)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			dashdash = true
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			// An argument, or the name of a (sub)command.
			if len(pos) > 0 || (leaf != nil && len(leaf.Subcommands) == 0) {
				pos = append(pos, a)
				continue
			}
			c := findCommand(commands, a)
			if c == nil {
				// An unknown (sub)command: leave the rest alone.
				pos = append(pos, args[i:]...)
				break
			}
			path, leaf, commands = append(path, a), c, c.Subcommands
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		o := opt{name: name, words: []string{a}}
		if f := lookupFlag(app, leaf, name); f != nil && !hasValue && takesValue(f) {
			if i+1 == len(args) {
				dangling = &o
				break
			}
			i++
			o.words = append(o.words, args[i])
		}
		opts = append(opts, o)
	}
	var global, local []string
	help := false
	isGlobal := func(name string) bool {
		return hasFlag(app.Flags, name) && (leaf == nil || !hasFlag(leaf.Flags, name))
	}
	for _, o := range opts {
		if isGlobal(o.name) {
			global = append(global, o.words...)
		} else {
			local = append(local, o.words...)
		}
		help = help || (cli.HelpFlag != nil && hasFlag([]cli.Flag{cli.HelpFlag}, o.name))
	}
	if help && leaf != nil {
		// urfave/cli would take the first argument for a help topic.
		pos, dashdash = nil, false
	}
	out := append([]string{args[0]}, global...)
	if dangling != nil && isGlobal(dangling.name) {
		return append(out, dangling.words...)
	}
	out = append(out, path...)
	out = append(out, local...)
	if dangling != nil {
		return append(out, dangling.words...)
	}
	if dashdash {
		out = append(out, "--")
	}
	return append(out, pos...)
}

// findCommand returns the command of cmds named (or aliased) name.
func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// lookupFlag returns the definition of the option name as seen from the
// command leaf (nil: before any command): its own, a global one, the help
// option, or, while the command is not complete, one of a command below.
func lookupFlag(app *cli.App, leaf *cli.Command, name string) cli.Flag {
	cmds := app.Commands
	if leaf != nil {
		if f := flagNamed(leaf.Flags, name); f != nil {
			return f
		}
		cmds = leaf.Subcommands
	}
	if f := flagNamed(app.Flags, name); f != nil {
		return f
	}
	if cli.HelpFlag != nil && flagNamed([]cli.Flag{cli.HelpFlag}, name) != nil {
		return cli.HelpFlag
	}
	for _, c := range cmds {
		if f := lookupFlag(app, c, name); f != nil {
			return f
		}
	}
	return nil
}

func flagNamed(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func hasFlag(flags []cli.Flag, name string) bool { return flagNamed(flags, name) != nil }

// takesValue reports whether an option reads the next word as its value
// (all but the booleans).
func takesValue(f cli.Flag) bool {
	d, ok := f.(cli.DocGenerationFlag)
	return ok && d.TakesValue()
}
