package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"logjail/enforce"
)

// The HTML replay report is one self-contained file: its style is inline,
// its charts are SVG drawn here, and it has no script and no reference to
// anything outside itself, so it opens the same from a mail attachment, a
// phone or an air-gapped machine. Everything read from logs (user names,
// file paths, jail names) is untrusted: it reaches the page only through
// html/template, after htmlText has made it printable.

//go:embed replay.html.tmpl
var replayHTMLText string

var replayHTML = template.Must(template.New("replay").Parse(replayHTMLText))

// HTMLOptions tune WriteReplayHTML. The zero value is usable.
type HTMLOptions struct {
	// Generated is when the report was made, shown in its header; zero
	// leaves it out. It is passed in, never read from the clock, so the
	// same replay gives the same file.
	Generated time.Time
	// Version names the program that made the report (e.g. "logjail
	// 1.2.0"); empty leaves it out.
	Version string
	// Rows is how many addresses, bans, user names and files the tables
	// show before saying how many more there are; 0 means 50.
	Rows int
	// ChartRows is how many bars the address and user name charts draw;
	// 0 means 15.
	ChartRows int
}

// WriteReplayHTML writes r as one self-contained HTML page: a summary,
// the failures and bans over time, the top addresses, the bans the policy
// would have issued and the most tried user names, as inline SVG charts
// and tables; with r.WhatIf, which addresses only the overrides ban and
// which only the configured policy bans. Times are shown in the location
// of r.From (or of opt.Generated when r has no failures).
func WriteReplayHTML(w io.Writer, r *Replay, opt HTMLOptions) error {
	if opt.Rows <= 0 {
		opt.Rows = 50
	}
	if opt.ChartRows <= 0 {
		opt.ChartRows = 15
	}
	if err := replayHTML.Execute(w, newHTMLPage(r, opt)); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

// htmlPage is what the template prints: every value already formatted.
type htmlPage struct {
	Title     string
	Generated *htmlTime
	Version   string
	Zone      string
	Empty     bool

	Lines, Failures, Addresses, Bans, FileCount string
	From, To                                    *htmlTime
	Span                                        string

	Jails     []htmlJail
	Files     []htmlFile
	FilesMore int

	Per          string // "hour" or "day"
	Timeline     *timelineChart
	TimelineRows []htmlBucket

	AddrChart *barChart
	IPs       []htmlIP
	IPsMore   int

	BanRows  []htmlBan
	BansMore int

	UserChart *barChart
	Users     []htmlUser
	UsersMore int

	WhatIf *htmlWhatIf // nil without --set
}

// htmlTime is a time as shown, with its machine-readable form.
type htmlTime struct{ ISO, Text string }

type htmlJail struct {
	Name                                string
	Failures, Addresses, Bans, MaxRetry string
	FindTime, BanTime                   string
}

type htmlFile struct {
	Path, Lines string
	Compressed  bool
}

type htmlBucket struct {
	Start          htmlTime
	Failures, Bans string
}

type htmlIP struct {
	Addr, Failures string
	First, Last    htmlTime
	Jails, Users   string
}

type htmlBan struct {
	Jail, Addr     string
	Start          htmlTime
	Until          *htmlTime // nil: permanent
	Length         string
	Offense, Fails string
}

type htmlUser struct {
	Name, Failures, Addresses string
}

// htmlWhatIf compares the page's bans, made under the overrides Set, with
// the configured policy's.
type htmlWhatIf struct {
	Set                              string
	Bans, Banned                     string
	ConfiguredBans, ConfiguredBanned string
	OnlyWhatIf, OnlyConfigured       []htmlJailAddr
	// Counts before the cut at HTMLOptions.Rows; More are the rows left out.
	OnlyWhatIfCount, OnlyConfiguredCount string
	OnlyWhatIfMore, OnlyConfiguredMore   int
}

type htmlJailAddr struct{ Jail, Addr string }

func newHTMLPage(r *Replay, opt HTMLOptions) *htmlPage {
	// The zone, and a time to name its offset at.
	loc, ref := time.UTC, r.From
	switch {
	case !r.From.IsZero():
		loc = r.From.Location()
	case !opt.Generated.IsZero():
		loc, ref = opt.Generated.Location(), opt.Generated
	}
	at := func(t time.Time) htmlTime { return newHTMLTime(t, loc) }
	p := &htmlPage{
		Title:     "logjail replay",
		Version:   htmlText(opt.Version, 100),
		Zone:      zoneText(loc, ref),
		Empty:     r.Failures == 0 && len(r.IPs) == 0,
		Lines:     thousands(r.Lines),
		Failures:  thousands(r.Failures),
		Addresses: thousands(int64(len(r.IPs))),
		Bans:      thousands(int64(len(r.Bans))),
		FileCount: thousands(int64(len(r.Files))),
		Per:       stepName(r.Step),
	}
	if !opt.Generated.IsZero() {
		g := at(opt.Generated)
		p.Generated = &g
	}
	if !r.From.IsZero() {
		from, to := at(r.From), at(r.To)
		p.From, p.To = &from, &to
		p.Span = durationText(r.To.Sub(r.From).Round(time.Second), false)
		p.Title = "logjail replay " + from.Text + " to " + to.Text
	}
	for _, j := range r.Jails {
		p.Jails = append(p.Jails, htmlJail{
			Name: htmlText(j.Name, 100), Failures: thousands(j.Failures),
			Addresses: thousands(int64(j.Addresses)), Bans: thousands(int64(j.Bans)),
			MaxRetry: thousands(int64(j.MaxRetry)), FindTime: durationText(j.FindTime, false),
			BanTime: durationText(j.BanTime, j.Permanent),
		})
	}
	files, more := upTo(r.Files, opt.Rows)
	p.FilesMore = more
	for _, f := range files {
		p.Files = append(p.Files, htmlFile{Path: htmlText(f.Path, 300), Lines: thousands(f.Lines), Compressed: f.Compressed})
	}
	if w := r.WhatIf; w != nil {
		p.WhatIf = newHTMLWhatIf(r, w, opt.Rows)
	}
	if p.Empty {
		return p
	}

	p.Timeline = newTimeline(r.Timeline, r.Step, loc)
	for _, b := range r.Timeline {
		if b.Failures != 0 || b.Bans != 0 {
			p.TimelineRows = append(p.TimelineRows, htmlBucket{at(b.Start), thousands(b.Failures), thousands(b.Bans)})
		}
	}

	ips, more := upTo(r.IPs, opt.Rows)
	p.IPsMore = more
	for _, ip := range ips {
		p.IPs = append(p.IPs, htmlIP{
			Addr: ip.Addr.String(), Failures: thousands(ip.Failures),
			First: at(ip.First), Last: at(ip.Last),
			Jails: htmlList(ip.Jails), Users: htmlList(ip.Users),
		})
	}
	top, _ := upTo(r.IPs, opt.ChartRows)
	bars := make([]barItem, len(top))
	for i, ip := range top {
		bars[i] = barItem{Name: ip.Addr.String(), Value: ip.Failures,
			Tip: ip.Addr.String() + ": " + nounCount(ip.Failures, "failure", "failures")}
	}
	p.AddrChart = newBarChart(fmt.Sprintf("The %d addresses with the most failures", len(top)), bars)

	bans, more := upTo(r.Bans, opt.Rows)
	p.BansMore = more
	for _, b := range bans {
		hb := htmlBan{
			Jail: htmlText(b.Jail, 100), Addr: enforce.Addr(b.Prefix), Start: at(b.Start),
			Length: "permanent", Offense: thousands(int64(b.Offense)), Fails: thousands(int64(b.Failures)),
		}
		if !b.Until.IsZero() {
			u := at(b.Until)
			hb.Until = &u
			hb.Length = durationText(b.Until.Sub(b.Start), false)
		}
		p.BanRows = append(p.BanRows, hb)
	}

	users, more := upTo(r.Users, opt.Rows)
	p.UsersMore = more
	for _, u := range users {
		p.Users = append(p.Users, htmlUser{Name: htmlText(u.Name, 100), Failures: thousands(u.Failures), Addresses: thousands(int64(u.Addresses))})
	}
	topU, _ := upTo(r.Users, opt.ChartRows)
	bars = make([]barItem, len(topU))
	for i, u := range topU {
		name := htmlText(u.Name, 200)
		bars[i] = barItem{Name: name, Value: u.Failures,
			Tip: name + ": " + nounCount(u.Failures, "attempt", "attempts") + " from " + nounCount(int64(u.Addresses), "address", "addresses")}
	}
	p.UserChart = newBarChart(fmt.Sprintf("The %d most tried user names", len(topU)), bars)
	return p
}

// newHTMLWhatIf shows w, the comparison of r with the configured policy,
// each list cut after rows. It is shown even when r found no failures: an
// override like ignoreip can leave none where the configured policy bans.
func newHTMLWhatIf(r *Replay, w *WhatIf, rows int) *htmlWhatIf {
	h := &htmlWhatIf{
		Set:  htmlList(w.Set),
		Bans: thousands(int64(len(r.Bans))), Banned: thousands(int64(r.banned())),
		ConfiguredBans: thousands(int64(w.Bans)), ConfiguredBanned: thousands(int64(w.Banned)),
		OnlyWhatIfCount:     thousands(int64(len(w.OnlyWhatIf))),
		OnlyConfiguredCount: thousands(int64(len(w.OnlyConfigured))),
	}
	show := func(ps []JailPrefix) ([]htmlJailAddr, int) {
		cut, more := upTo(ps, rows)
		out := make([]htmlJailAddr, len(cut))
		for i, p := range cut {
			out[i] = htmlJailAddr{Jail: htmlText(p.Jail, 100), Addr: enforce.Addr(p.Prefix)}
		}
		return out, more
	}
	h.OnlyWhatIf, h.OnlyWhatIfMore = show(w.OnlyWhatIf)
	h.OnlyConfigured, h.OnlyConfiguredMore = show(w.OnlyConfigured)
	return h
}

// upTo returns the first n of s and how many it left out.
func upTo[T any](s []T, n int) ([]T, int) {
	if len(s) <= n {
		return s, 0
	}
	return s[:n], len(s) - n
}

func newHTMLTime(t time.Time, loc *time.Location) htmlTime {
	return htmlTime{ISO: t.Format(time.RFC3339), Text: t.In(loc).Format(time.DateTime)}
}

// zoneText says in which time zone the page's times are, with the offset
// it had at t.
func zoneText(loc *time.Location, t time.Time) string {
	name, off := t.In(loc).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	utc := fmt.Sprintf("UTC%c%02d:%02d", sign, off/3600, off/60%60)
	if loc == time.UTC || name == "UTC" && off == 0 {
		return "UTC"
	}
	if s := loc.String(); s != "Local" && s != "" {
		return htmlText(s, 100) + " (" + utc + ")"
	}
	return utc
}

// thousands writes n with thousands separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func nounCount(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// htmlText is text from a log as the page shows it: made Printable (so
// the page says the same as the table report), cut after max characters
// with an ellipsis. HTML escaping is html/template's.
func htmlText(s string, max int) string { return PrintableCut(s, max, "…") }

// htmlList shows each item with htmlText, joined by commas.
func htmlList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = htmlText(s, 100)
	}
	return strings.Join(out, ", ")
}
