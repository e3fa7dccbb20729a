package clidoc

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Bash returns a bash completion script for app, for
// /usr/share/bash-completion/completions/NAME. With anywhere, the global
// options are offered after the command too, for a program that takes
// them there (logjail reorders its arguments).
func Bash(app *cli.App, anywhere bool) []byte {
	root := tree(app)
	fn := "_" + ident(app.Name)
	var b strings.Builder
	fmt.Fprintf(&b, "# bash completion for %s; generated from its command definitions, do not edit.\n", app.Name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n")
	b.WriteString("\tlocal cmd=\"\" words=\"\" flags=\"\" i\n")
	// Walk the words before the cursor to the command they name,
	// stepping over the values of flags that take one.
	b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
	b.WriteString("\t\tcase \"$cmd/${COMP_WORDS[i]}\" in\n")
	for _, l := range root.all()[1:] {
		parent := l.path[:max(0, strings.LastIndex(l.path, "/"))]
		var pats []string
		for _, n := range l.cmd.Names() {
			pats = append(pats, shQuote(parent+"/"+n))
		}
		fmt.Fprintf(&b, "\t\t%s) cmd=%s ;;\n", strings.Join(pats, "|"), shQuote(l.path))
	}
	if vf := root.valueFlags(); len(vf) > 0 {
		fmt.Fprintf(&b, "\t\t*/%s) ((i++)) ;;\n", strings.Join(vf, "|*/"))
	}
	b.WriteString("\t\tesac\n\tdone\n")
	// A flag's value and a command's arguments: the shell's file
	// completion (complete -o default).
	if vf := root.valueFlags(); len(vf) > 0 {
		fmt.Fprintf(&b, "\tcase $prev in\n\t%s) COMPREPLY=(); return ;;\n\tesac\n", strings.Join(vf, "|"))
	}
	b.WriteString("\tcase $cmd in\n")
	for _, l := range root.all() {
		var fl []string
		for _, f := range l.offered(root, anywhere) {
			fl = append(fl, f.dashed()...)
		}
		fmt.Fprintf(&b, "\t%s) words=%s flags=%s ;;\n", shQuote(l.path), shQuote(strings.Join(l.words(), " ")), shQuote(strings.Join(fl, " ")))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ $cur == -* ]]; then\n")
	b.WriteString("\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n")
	b.WriteString("\telif [[ -n $words ]]; then\n")
	b.WriteString("\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n")
	b.WriteString("\telse\n\t\tCOMPREPLY=()\n\tfi\n")
	b.WriteString("}\n")
	fmt.Fprintf(&b, "complete -o default -F %s %s\n", fn, app.Name)
	return []byte(b.String())
}

// ident makes a shell function name of a program name.
func ident(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, s)
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
