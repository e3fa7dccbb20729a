package clidoc

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// node is one command level: the application (path "") or a command
// (path "filter/test"), with what completion and the pages need of it.
type node struct {
	path     string // command names from the top, joined by "/"
	cmd      *cli.Command
	flags    []flag
	children []*node
}

// flag is one visible flag of a level.
type flag struct {
	names       []string // "config", "v": without dashes, long first as defined
	placeholder string   // FILE in "--config FILE"; "" for a boolean
	usage       string
	def         string // the default, unquoted; "" when none worth saying
	repeatable  bool
}

// dashed returns the names with their dashes: --config, -v.
func (f flag) dashed() []string {
	var out []string
	for _, n := range f.names {
		if len(n) == 1 {
			out = append(out, "-"+n)
		} else {
			out = append(out, "--"+n)
		}
	}
	return out
}

// helpFlag is added to every level, as urfave/cli does when it runs one.
var helpFlag = flag{names: []string{"help", "h"}, usage: "show help"}

// tree returns the application's levels, hidden commands and flags left
// out, the top level first.
func tree(app *cli.App) *node {
	root := &node{flags: withHelp(flags(app.Flags))}
	root.children = children(root, app.Commands)
	return root
}

func children(parent *node, cmds []*cli.Command) []*node {
	var out []*node
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		n := &node{path: strings.TrimPrefix(parent.path+"/"+c.Name, "/"), cmd: c}
		n.flags = withHelp(flags(c.Flags))
		n.children = children(n, c.Subcommands)
		out = append(out, n)
	}
	return out
}

// withHelp adds the help flag unless urfave/cli's setup already did.
func withHelp(fs []flag) []flag {
	for _, f := range fs {
		if f.names[0] == helpFlag.names[0] {
			return fs
		}
	}
	return append(fs, helpFlag)
}

func flags(fs []cli.Flag) []flag {
	var out []flag
	for _, f := range fs {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		fl := flag{names: f.Names()}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			placeholder, usage := unquoteUsage(d.GetUsage())
			fl.usage = usage
			if d.TakesValue() {
				fl.placeholder = placeholder
				if fl.placeholder == "" {
					fl.placeholder = "VALUE"
				}
				fl.def = d.GetDefaultText()
				if s, err := strconv.Unquote(fl.def); err == nil {
					fl.def = s
				}
			}
			if s, ok := f.(cli.DocGenerationSliceFlag); ok {
				fl.repeatable = s.IsSliceFlag()
			}
		}
		out = append(out, fl)
	}
	return out
}

// all returns n and every level below it, depth first.
func (n *node) all() []*node {
	out := []*node{n}
	for _, c := range n.children {
		out = append(out, c.all()...)
	}
	return out
}

// words returns the names the level's subcommands answer to.
func (n *node) words() []string {
	var out []string
	for _, c := range n.children {
		out = append(out, c.cmd.Names()...)
	}
	return out
}

// valueFlags returns every dashed flag name of the tree that takes a value.
func (n *node) valueFlags() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range n.all() {
		for _, f := range l.flags {
			if f.placeholder == "" {
				continue
			}
			for _, d := range f.dashed() {
				if !seen[d] {
					seen[d] = true
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// unquoteUsage returns the placeholder a usage names in back quotes, as
// urfave/cli's help does ("configuration `FILE`" shows --config FILE), and
// the usage without the quotes.
func unquoteUsage(usage string) (placeholder, text string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}

// offered returns the flags completion offers at level n: its own and,
// when the program takes options anywhere, the global ones its own do not
// shadow.
func (n *node) offered(root *node, anywhere bool) []flag {
	if !anywhere || n == root {
		return n.flags
	}
	own := map[string]bool{}
	for _, f := range n.flags {
		for _, name := range f.names {
			own[name] = true
		}
	}
	out := append([]flag{}, n.flags...)
	for _, f := range root.flags {
		if !own[f.names[0]] {
			out = append(out, f)
		}
	}
	return out
}
