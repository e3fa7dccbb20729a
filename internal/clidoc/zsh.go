package clidoc

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Zsh returns a zsh completion function for app, for a directory on
// $fpath as _NAME (Debian: /usr/share/zsh/vendor-completions). anywhere
// is Bash's.
func Zsh(app *cli.App, anywhere bool) []byte {
	root := tree(app)
	fn := "_" + ident(app.Name)
	var b strings.Builder
	fmt.Fprintf(&b, "#compdef %s\n", app.Name)
	fmt.Fprintf(&b, "# zsh completion for %s; generated from its command definitions, do not edit.\n\n", app.Name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cmd=\"\" i\n\tlocal -a cmds opts\n")
	b.WriteString("\tfor ((i = 2; i < CURRENT; i++)); do\n")
	b.WriteString("\t\tcase \"$cmd/${words[i]}\" in\n")
	for _, l := range root.all()[1:] {
		parent := l.path[:max(0, strings.LastIndex(l.path, "/"))]
		var pats []string
		for _, n := range l.cmd.Names() {
			pats = append(pats, shQuote(parent+"/"+n))
		}
		fmt.Fprintf(&b, "\t\t%s) cmd=%s ;;\n", strings.Join(pats, "|"), shQuote(l.path))
	}
	vf := root.valueFlags()
	if len(vf) > 0 {
		fmt.Fprintf(&b, "\t\t*/%s) ((i++)) ;;\n", strings.Join(vf, "|*/"))
	}
	b.WriteString("\t\tesac\n\tdone\n")
	if len(vf) > 0 {
		fmt.Fprintf(&b, "\tcase ${words[CURRENT-1]} in\n\t%s) _files; return ;;\n\tesac\n", strings.Join(vf, "|"))
	}
	b.WriteString("\tcase $cmd in\n")
	for _, l := range root.all() {
		var cmds, opts []string
		for _, c := range l.children {
			for _, n := range c.cmd.Names() {
				cmds = append(cmds, shQuote(zshItem(n, c.cmd.Usage)))
			}
		}
		for _, f := range l.offered(root, anywhere) {
			for _, d := range f.dashed() {
				opts = append(opts, shQuote(zshItem(d, f.usage)))
			}
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tcmds=(%s)\n\t\topts=(%s) ;;\n", shQuote(l.path), strings.Join(cmds, " "), strings.Join(opts, " "))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ ${words[CURRENT]} == -* ]]; then\n")
	b.WriteString("\t\t_describe -t options option opts\n")
	b.WriteString("\telif (( ${#cmds} )); then\n")
	b.WriteString("\t\t_describe -t commands command cmds\n")
	b.WriteString("\telse\n\t\t_files\n\tfi\n")
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "%s \"$@\"\n", fn)
	return []byte(b.String())
}

// zshItem is one "name:description" entry for _describe, whose colons
// in the name must be escaped.
func zshItem(name, desc string) string {
	return strings.ReplaceAll(name, ":", `\:`) + ":" + strings.ReplaceAll(desc, "\n", " ")
}
