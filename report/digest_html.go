package report

import (
	"bytes"
	"html/template"
	"io"
	"sync"
)

// digestHTML is the digest's HTML part: the tables of the text part,
// styled inline (mail programs drop style sheets). To fit a phone's
// screen, a ban's jail and user names go under its address, its end
// under its start, its failures under its offense; a table still wider
// than the screen scrolls sideways on its own. html/template escapes every value; the values from logs
// were escaped for control characters before (digestText). It is parsed on
// first use: only a run that sends a digest needs it.
var digestHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
</head>
<body style="margin:0;padding:8px;background:#ffffff;color:#1f2328;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:1.4">
<div style="max-width:760px;margin:0 auto">
<h1 style="font-size:18px;margin:0 0 4px 0">{{.Title}}</h1>
<p style="margin:0 0 12px 0;color:#57606a">{{.Period}}.</p>
{{- if .Bans}}
<h2 style="font-size:16px;margin:16px 0 6px 0">{{.BansTitle}}</h2>
<div style="overflow-x:auto">
<table style="border-collapse:collapse;min-width:100%">
<tr>{{range $h := .BanHeader}}<th style="{{$.TH}}">{{$h}}</th>{{end}}</tr>
{{- range .Bans}}
<tr><td style="{{$.TD}}"><span style="{{$.Addr}}">{{.Addr}}</span><br><span style="{{$.Sub}}">{{.Jail}}</span>{{if .Users}}<br><span style="{{$.Sub}};word-break:break-word">{{.Users}}</span>{{end}}</td><td style="{{$.TD}}"><span style="white-space:nowrap">{{.Start}}</span><br><span style="{{$.Sub}};white-space:nowrap">until {{.Until}}</span></td><td style="{{$.TD}};text-align:right"><span style="white-space:nowrap">#{{.Offense}}</span><br><span style="{{$.Sub}};white-space:nowrap">{{.Failures}} failures</span></td></tr>
{{- end}}
</table>
</div>
{{- if .MoreBans}}
<p style="margin:6px 0;color:#57606a">{{.MoreBans}}</p>
{{- end}}
{{- end}}
{{- if .Top}}
<h2 style="font-size:16px;margin:16px 0 6px 0">{{.TopTitle}}</h2>
<div style="overflow-x:auto">
<table style="border-collapse:collapse;min-width:100%">
<tr>{{range $h := .TopHeader}}<th style="{{$.TH}}">{{$h}}</th>{{end}}</tr>
{{- range .Top}}
<tr><td style="{{$.TD}}"><span style="{{$.Addr}}">{{.Addr}}</span><br><span style="{{$.Sub}}">{{.Jails}}</span>{{if .Users}}<br><span style="{{$.Sub}};word-break:break-word">{{.Users}}</span>{{end}}</td><td style="{{$.TD}};text-align:right">{{.Failures}}</td><td style="{{$.TD}};text-align:right">{{.Bans}}</td></tr>
{{- end}}
</table>
</div>
{{- end}}
{{- if .Jails}}
<h2 style="font-size:16px;margin:16px 0 6px 0">Per jail</h2>
<div style="overflow-x:auto">
<table style="border-collapse:collapse;min-width:100%">
<tr>{{range $h := .JailHeader}}<th style="{{$.TH}}">{{$h}}</th>{{end}}</tr>
{{- range .Jails}}
<tr><td style="{{$.TD}}">{{.Name}}</td><td style="{{$.TD}};text-align:right">{{.Failures}}</td><td style="{{$.TD}};text-align:right">{{.Bans}}</td><td style="{{$.TD}};text-align:right">{{.Unbans}}</td></tr>
{{- end}}
<tr><td style="{{$.TD}};font-weight:bold">{{.Total.Name}}</td><td style="{{$.TD}};text-align:right;font-weight:bold">{{.Total.Failures}}</td><td style="{{$.TD}};text-align:right;font-weight:bold">{{.Total.Bans}}</td><td style="{{$.TD}};text-align:right;font-weight:bold">{{.Total.Unbans}}</td></tr>
</table>
</div>
{{- end}}
{{- if .Warnings}}
<h2 style="font-size:16px;margin:16px 0 6px 0">{{.WarningsTitle}}</h2>
<ul style="margin:0;padding-left:20px">
{{- range .Warnings}}
<li style="word-break:break-word">{{.}}</li>
{{- end}}
{{- if .MoreWarnings}}
<li>{{.MoreWarnings}}</li>
{{- end}}
</ul>
{{- end}}
</div>
</body>
</html>
`))
})

// digestHTMLView adds to the view what only the HTML part needs.
type digestHTMLView struct {
	*digestView
	BanHeader, TopHeader, JailHeader []string
	// TH and TD are the cells' inline styles, Sub a cell's further
	// lines', Addr an address's.
	TH, TD, Sub, Addr template.CSS
}

// WriteHTML writes the digest's HTML part, with the tables of the text
// part.
func (d *Digest) WriteHTML(w io.Writer) error {
	v := digestHTMLView{
		digestView: d.view(),
		BanHeader:  []string{"Address, jail, users tried", "Start, until", "Offense"},
		TopHeader:  []string{"Address, jails, users tried", "Failures", "Bans"},
		JailHeader: []string{"Jail", "Failures", "Bans", "Unbans"},
		TH:         "padding:4px 6px;border-bottom:2px solid #d0d7de;text-align:left;vertical-align:bottom",
		TD:         "padding:4px 6px;border-bottom:1px solid #d0d7de;vertical-align:top",
		Sub:        "color:#57606a;font-size:12px",
		Addr:       "white-space:nowrap;font-family:monospace",
	}
	var b bytes.Buffer
	if err := digestHTML().Execute(&b, v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
