package clidoc

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Page is one manual page: its file name (logjail-run.8) and roff text.
type Page struct {
	Name string
	Text []byte
}

// Extra is text for the application's own page beyond what the
// definitions hold, each a section of paragraphs: FILES, ENVIRONMENT,
// EXIT STATUS, in that order after the commands; a DESCRIPTION goes
// before the options. Paragraphs are separated by blank lines; a paragraph whose
// first line ends in ":" and whose other lines are indented is a tagged
// item (the tag, then its text).
type Extra struct {
	Heading string
	Text    string
}

// Man returns the pages of app in the given section: app.Name.section for
// the application, then app.Name-COMMAND.section for every visible
// command but help. footer is the centre of the pages' last line, such as
// "logjail 1.2.0".
func Man(app *cli.App, section int, footer string, extra []Extra) []Page {
	root := tree(app)
	var cmds []*node
	for _, c := range root.children {
		if c.cmd.Name != "help" {
			cmds = append(cmds, c)
		}
	}
	var seeAlso []string
	for _, c := range cmds {
		seeAlso = append(seeAlso, fmt.Sprintf("%s-%s", app.Name, c.cmd.Name))
	}

	var pages []Page
	m := newRoff(app.Name, section, footer)
	m.section("NAME")
	m.text(app.Name + ` \- ` + esc(app.Usage))
	m.section("SYNOPSIS")
	m.raw(fmt.Sprintf(".B %s\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]", app.Name))
	// One DESCRIPTION: the extra one's text, then the application's.
	described := false
	for _, e := range extra {
		if e.Heading == "DESCRIPTION" {
			if !described {
				m.section("DESCRIPTION")
				described = true
			}
			m.items(e.Text)
		}
	}
	if app.Description != "" {
		if !described {
			m.section("DESCRIPTION")
		}
		m.paragraphs(app.Description)
	}
	m.section("GLOBAL OPTIONS")
	m.flags(root.flags)
	m.section("COMMANDS")
	for _, c := range cmds {
		m.tagged(`\fB`+strings.Join(c.cmd.Names(), ", ")+`\fR`, c.cmd.Usage+".")
		m.raw(fmt.Sprintf("See \\fB%s\\-%s\\fR(%d).", app.Name, esc(c.cmd.Name), section))
	}
	for _, e := range extra {
		if e.Heading != "DESCRIPTION" {
			m.section(e.Heading)
			m.items(e.Text)
		}
	}
	m.seeAlso(seeAlso)
	pages = append(pages, Page{Name: fmt.Sprintf("%s.%d", app.Name, section), Text: m.bytes()})

	for _, c := range cmds {
		name := app.Name + "-" + c.cmd.Name
		m := newRoff(name, section, footer)
		m.section("NAME")
		m.text(esc(name) + ` \- ` + esc(c.cmd.Usage))
		m.section("SYNOPSIS")
		for _, l := range c.all() {
			m.synopsis(app.Name, l)
		}
		if c.cmd.Description != "" {
			m.section("DESCRIPTION")
			m.paragraphs(c.cmd.Description)
		}
		if len(c.children) == 0 {
			m.section("OPTIONS")
			m.flags(c.flags)
		}
		for _, s := range c.all()[1:] {
			m.section(strings.ToUpper(strings.ReplaceAll(s.path, "/", " ")))
			m.paragraphs(s.cmd.Usage + ".")
			if s.cmd.Description != "" {
				m.paragraphs(s.cmd.Description)
			}
			m.flags(s.flags)
		}
		m.seeAlso([]string{app.Name})
		pages = append(pages, Page{Name: fmt.Sprintf("%s.%d", name, section), Text: m.bytes()})
	}
	return pages
}

// roff builds one page.
type roff struct {
	b   strings.Builder
	sec int // the manual section, 8
}

func newRoff(name string, section int, footer string) *roff {
	r := &roff{sec: section}
	fmt.Fprintf(&r.b, ".\\\" Generated from the program's command definitions; do not edit.\n")
	fmt.Fprintf(&r.b, ".TH %s %d \"\" \"%s\" \"System Administration\"\n", quoteArg(strings.ToUpper(name)), section, esc(footer))
	// No hyphenation: paths and option names must read as written.
	r.b.WriteString(".nh\n")
	return r
}

func (r *roff) bytes() []byte { return []byte(r.b.String()) }

func (r *roff) raw(s string) { r.b.WriteString(s + "\n") }

func (r *roff) section(h string) { r.raw(".SH " + quoteArg(h)) }

// text writes escaped text, each line safe from being read as a request.
func (r *roff) text(s string) {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		r.raw(l)
	}
}

func (r *roff) tagged(tag, text string) {
	r.raw(".TP")
	r.raw(tag)
	r.text(esc(text))
}

// paragraphs writes a definition's text (a Description): paragraphs
// separated by blank lines, filled, except lines indented as --help shows
// examples, which are kept as they are.
func (r *roff) paragraphs(s string) {
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		r.raw(".PP")
		lines := strings.Split(p, "\n")
		for i := 0; i < len(lines); {
			j := i
			if indented(lines[i]) {
				for j < len(lines) && indented(lines[j]) {
					j++
				}
				r.raw(".RS 4\n.nf")
				for _, l := range lines[i:j] {
					r.text(esc(strings.TrimSpace(l)))
				}
				r.raw(".fi\n.RE")
			} else {
				for j < len(lines) && !indented(lines[j]) {
					j++
				}
				var filled []string
				for _, l := range lines[i:j] {
					filled = append(filled, strings.TrimSpace(l))
				}
				r.text(esc(strings.Join(filled, "\n")))
			}
			i = j
		}
	}
}

func indented(l string) bool { return strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") }

// items writes an Extra's text: paragraphs separated by blank lines; one
// whose first line ends in ":" and whose other lines are indented is a
// tagged item (the tag in bold, then its text).
func (r *roff) items(s string) {
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(p, "\n")
		if len(lines) > 1 && strings.HasSuffix(lines[0], ":") && indented(lines[1]) {
			var body []string
			for _, l := range lines[1:] {
				body = append(body, strings.TrimSpace(l))
			}
			r.raw(".TP")
			r.raw(`\fB` + esc(strings.TrimSuffix(lines[0], ":")) + `\fR`)
			r.text(esc(strings.Join(body, "\n")))
			continue
		}
		r.paragraphs(p)
	}
}

func (r *roff) flags(fs []flag) {
	for _, f := range fs {
		var names []string
		for _, d := range f.dashed() {
			n := `\fB` + esc(d) + `\fR`
			if f.placeholder != "" {
				n += ` \fI` + esc(f.placeholder) + `\fR`
			}
			names = append(names, n)
		}
		text := f.usage
		if f.repeatable && !strings.Contains(text, "repeatable") {
			text += " (repeatable)"
		}
		if f.def != "" {
			text += " (default: " + f.def + ")"
		}
		r.tagged(strings.Join(names, ", "), text)
	}
}

// synopsis writes the usage line of one command level.
func (r *roff) synopsis(app string, n *node) {
	if len(n.children) > 0 {
		return
	}
	r.raw(".PP")
	r.raw(fmt.Sprintf(".B %s\n[\\fIglobal options\\fR]", app))
	r.raw(".B " + quoteArg(strings.ReplaceAll(n.path, "/", " ")))
	line := "[\\fIoptions\\fR]"
	if n.cmd.ArgsUsage != "" {
		line += " " + esc(n.cmd.ArgsUsage)
	}
	r.raw(line)
}

func (r *roff) seeAlso(pages []string) {
	r.section("SEE ALSO")
	var refs []string
	for _, p := range pages {
		refs = append(refs, fmt.Sprintf("\\fB%s\\fR(%d)", esc(p), r.sec))
	}
	r.raw(strings.Join(refs, ",\n"))
}

// esc escapes text for roff: backslashes and the hyphens of options and
// names, which must stay ASCII hyphens for searching and pasting.
func esc(s string) string {
	return strings.NewReplacer(`\`, `\e`, `-`, `\-`).Replace(s)
}

// quoteArg quotes a request's argument.
func quoteArg(s string) string {
	return `"` + strings.ReplaceAll(esc(s), `"`, `\(dq`) + `"`
}
