package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"logjail/mail"
)

// Widths, in characters, past which text from logs is cut in a digest.
const (
	digestUserWidth    = 32
	digestWarningWidth = 300
	digestHostWidth    = 64
)

// WriteText writes the digest's plain-text body. Every text from logs is
// escaped (see digestText), so the body holds no control character but
// the line ends, and no line starts with text an attacker chose.
func (d *Digest) WriteText(w io.Writer) error {
	var b bytes.Buffer
	v := d.view()
	fmt.Fprintf(&b, "%s.\n%s.\n", v.Title, v.Period)
	if len(v.Bans) > 0 {
		fmt.Fprintf(&b, "\n%s\n\n", v.BansTitle)
		rows := make([][]string, 0, len(v.Bans))
		for _, x := range v.Bans {
			rows = append(rows, []string{x.Jail, x.Addr, x.Start, x.Until, x.Offense, x.Failures, x.Users})
		}
		digestTable(&b, []string{"JAIL", "ADDRESS", "START", "UNTIL", "OFFENSE", "FAILURES", "USERS TRIED"}, rows, 4, 5)
		if v.MoreBans != "" {
			fmt.Fprintf(&b, "\n%s\n", v.MoreBans)
		}
	}
	if len(v.Top) > 0 {
		fmt.Fprintf(&b, "\n%s\n\n", v.TopTitle)
		rows := make([][]string, 0, len(v.Top))
		for _, x := range v.Top {
			rows = append(rows, []string{x.Addr, x.Failures, x.Bans, x.Jails, x.Users})
		}
		digestTable(&b, []string{"ADDRESS", "FAILURES", "BANS", "JAILS", "USERS TRIED"}, rows, 1, 2)
	}
	if len(v.Jails) > 0 {
		b.WriteString("\nPer jail\n\n")
		rows := make([][]string, 0, len(v.Jails)+1)
		for _, j := range append(v.Jails, v.Total) {
			rows = append(rows, []string{j.Name, j.Failures, j.Bans, j.Unbans})
		}
		digestTable(&b, []string{"JAIL", "FAILURES", "BANS", "UNBANS"}, rows, 1, 2, 3)
	}
	if len(v.Warnings) > 0 {
		fmt.Fprintf(&b, "\n%s\n\n", v.WarningsTitle)
		for _, s := range v.Warnings {
			fmt.Fprintf(&b, "- %s\n", s)
		}
		if v.MoreWarnings != "" {
			fmt.Fprintf(&b, "- %s\n", v.MoreWarnings)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// digestTable writes rows under header in columns two spaces apart,
// the header underlined with dashes: plain ASCII, which reads in any
// mail program with a fixed-width font and costs nothing in
// quoted-printable. The columns numbered in right (numbers) are aligned
// right.
func digestTable(b *bytes.Buffer, header []string, rows [][]string, right ...int) {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				l.WriteString("  ")
			}
			if slices.Contains(right, i) {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(header)
	dashes := make([]string, len(header))
	for i := range dashes {
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(dashes)
	for _, r := range rows {
		line(r)
	}
}

// period says which time the digest covers.
func (d *Digest) period() string {
	loc := d.Now.Location()
	zone := d.Now.Format("MST")
	if d.First.IsZero() {
		return fmt.Sprintf("No events up to %s (%s)", d.Now.Format(time.DateTime), zone)
	}
	return fmt.Sprintf("Events from %s to %s (%s), %s", d.First.In(loc).Format(time.DateTime),
		d.Last.In(loc).Format(time.DateTime), zone, Count(d.Events, "event", "events"))
}

// digestView is the digest as the text and HTML writers show it: lists
// cut at the limits, every text from logs escaped and cut, numbers and
// times formatted.
type digestView struct {
	Title, Period string
	// BansTitle heads the bans; MoreBans says how many are not listed
	// ("" when all are).
	BansTitle, MoreBans string
	Bans                []digestBanRow
	TopTitle            string
	Top                 []digestAddrRow
	Jails               []digestJailRow
	Total               digestJailRow
	// WarningsTitle heads the warnings; MoreWarnings as MoreBans.
	WarningsTitle, MoreWarnings string
	Warnings                    []string
}

type digestBanRow struct{ Jail, Addr, Start, Until, Offense, Failures, Users string }
type digestAddrRow struct{ Addr, Failures, Bans, Jails, Users string }
type digestJailRow struct{ Name, Failures, Bans, Unbans string }

func (d *Digest) view() *digestView {
	loc := d.Now.Location()
	v := &digestView{
		Title:  fmt.Sprintf("logjail on %s: %s", digestText(d.Host, digestHostWidth), d.counts()),
		Period: d.period(),
	}
	n := digestListed(len(d.Bans), d.Limits.Bans)
	v.BansTitle = fmt.Sprintf("New bans (%d)", len(d.Bans))
	if more := len(d.Bans) - n; more > 0 {
		v.MoreBans = fmt.Sprintf("... and %s, not listed; the totals count them.", Count(more, "more ban", "more bans"))
	}
	for _, b := range d.Bans[:n] {
		until := "permanent"
		if !b.Until.IsZero() {
			until = b.Until.In(loc).Format(time.DateTime)
		}
		users := digestUsersText(b.Users)
		if b.Manual {
			users = "(by hand)"
		}
		v.Bans = append(v.Bans, digestBanRow{digestText(b.Jail, digestUserWidth), b.Addr, b.Start.In(loc).Format(time.DateTime), until,
			strconv.Itoa(b.Offense), strconv.Itoa(b.Failures), users})
	}
	top := d.Top()
	n = digestListed(len(top), d.Limits.Top)
	if n < len(top) {
		v.TopTitle = fmt.Sprintf("Busiest addresses (%d of %d, by failures)", n, len(top))
	} else {
		v.TopTitle = fmt.Sprintf("Busiest addresses (%d, by failures)", n)
	}
	for _, a := range top[:n] {
		v.Top = append(v.Top, digestAddrRow{a.Addr, strconv.Itoa(a.Failures), strconv.Itoa(a.Bans),
			digestText(strings.Join(a.Jails, ", "), digestWarningWidth), digestUsersText(a.Users)})
	}
	for _, j := range d.Jails() {
		v.Jails = append(v.Jails, digestJailRow{digestText(j.Name, digestUserWidth), strconv.Itoa(j.Failures), strconv.Itoa(j.Bans), strconv.Itoa(j.Unbans)})
	}
	v.Total = digestJailRow{"total", strconv.Itoa(d.Failures), strconv.Itoa(len(d.Bans)), strconv.Itoa(d.Unbans)}
	n = digestListed(len(d.Warnings), d.Limits.Warnings)
	v.WarningsTitle = fmt.Sprintf("Warnings (%d)", len(d.Warnings))
	if more := len(d.Warnings) - n; more > 0 {
		v.MoreWarnings = fmt.Sprintf("... and %s, not listed.", Count(more, "more warning", "more warnings"))
	}
	for _, w := range d.Warnings[:n] {
		v.Warnings = append(v.Warnings, digestText(w, digestWarningWidth))
	}
	return v
}

func digestUsersText(us []string) string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = digestText(u, digestUserWidth)
	}
	return strings.Join(out, ", ")
}

// digestText makes text from a log safe to put into a mail body: invalid
// UTF-8 and every rune that is not printable (control characters, line
// breaks, escapes, bidirectional overrides) are written as Go escapes
// (\xff, \r, \u202e), a backslash as \\; the result holds at most max
// characters, cut with "...". So a user name cannot start a line, fake
// a header, carry a terminal escape or reorder the text around it.
func digestText(s string, max int) string { return PrintableCut(s, max, "...") }

// digestHeaderText keeps of s, for a header, only printable characters
// (no control character, so no line break), at most digestHostWidth.
func digestHeaderText(s string) string {
	if t := mail.Printable(s, digestHostWidth, ""); t != "" {
		return t
	}
	return "unknown host"
}
