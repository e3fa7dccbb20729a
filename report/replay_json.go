package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"logjail/enforce"
)

// ReplayFileJSON is one input file.
type ReplayFileJSON struct {
	Path       string `json:"path"`
	Compressed bool   `json:"compressed"`
	Lines      int64  `json:"lines"`
}

// ReplayJailJSON is one jail's totals and policy.
type ReplayJailJSON struct {
	Name      string `json:"jail"`
	Failures  int64  `json:"failures"`
	Addresses int    `json:"addresses"`
	Bans      int    `json:"bans"`
	MaxRetry  int    `json:"maxretry"`
	FindTime  string `json:"findtime"`
	BanTime   string `json:"bantime"`
}

// ReplayIPJSON is one address.
type ReplayIPJSON struct {
	IP       string   `json:"ip"`
	Failures int64    `json:"failures"`
	First    string   `json:"first"`
	Last     string   `json:"last"`
	Jails    []string `json:"jails"`
	Users    []string `json:"users"`
}

// WhatIfJSON compares a --set replay with the configured policy: the
// configured policy's bans and banned (jail, address) pairs, and the pairs
// only one of the two bans.
type WhatIfJSON struct {
	Set              []string     `json:"set"`
	ConfiguredBans   int          `json:"configured_bans"`
	ConfiguredBanned int          `json:"configured_banned"`
	OnlyWhatIf       []JailIPJSON `json:"only_whatif"`
	OnlyConfigured   []JailIPJSON `json:"only_configured"`
}

// JailIPJSON names an address (or network) in a jail.
type JailIPJSON struct {
	Jail string `json:"jail"`
	IP   string `json:"ip"`
}

// BucketJSON is one timeline bucket.
type BucketJSON struct {
	Start    string `json:"start"`
	Failures int64  `json:"failures"`
	Bans     int64  `json:"bans"`
}

// UserJSON is one user name.
type UserJSON struct {
	User      string `json:"user"`
	Failures  int64  `json:"failures"`
	Addresses int    `json:"addresses"`
}

// WriteReplayJSON writes the report's JSON document, the members in this
// order: from, to, lines, failures, addresses, files, jails, ips, bans,
// step ("hour" or "day", a timeline bucket), timeline, users, and whatif
// with --set only. One line per list element: as easy to read (and to
// grep) as indented JSON. Elements are converted and encoded one at a
// time: the document is never held whole in memory.
func WriteReplayJSON(w io.Writer, r *Replay) error {
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}
	jw.w.WriteString("{")
	var from, to *string
	if r.Failures > 0 {
		from, to = Until(r.From), Until(r.To)
	}
	jw.field("from", from)
	jw.field("to", to)
	jw.field("lines", r.Lines)
	jw.field("failures", r.Failures)
	jw.field("ambiguous", r.Ambiguous)
	jw.field("addresses", len(r.IPs))
	jw.list("files", len(r.Files), func(i int) any { return ReplayFileJSON(r.Files[i]) })
	jw.list("jails", len(r.Jails), func(i int) any {
		j := r.Jails[i]
		return ReplayJailJSON{Name: j.Name, Failures: j.Failures, Addresses: j.Addresses, Bans: j.Bans,
			MaxRetry: j.MaxRetry, FindTime: durationText(j.FindTime, false), BanTime: durationText(j.BanTime, j.Permanent)}
	})
	// The two long lists are encoded by hand, byte for byte as
	// encoding/json would (TestReplayJSONEncoding), at a fraction of the
	// cost of reflection.
	jw.listRaw("ips", len(r.IPs), func(b []byte, i int) []byte {
		ip := &r.IPs[i]
		b = append(b, `{"ip":"`...)
		b = ip.Addr.AppendTo(b)
		b = append(b, `","failures":`...)
		b = strconv.AppendInt(b, ip.Failures, 10)
		b = appendJSONTime(append(b, `,"first":`...), ip.First)
		b = appendJSONTime(append(b, `,"last":`...), ip.Last)
		b = appendJSONStrings(append(b, `,"jails":`...), ip.Jails)
		b = appendJSONStrings(append(b, `,"users":`...), ip.Users)
		return append(b, '}')
	})
	jw.listRaw("bans", len(r.Bans), func(b []byte, i int) []byte {
		ban := &r.Bans[i]
		b = appendJSONString(append(b, `{"jail":`...), ban.Jail)
		b = append(b, `,"ip":"`...)
		if ban.Prefix.IsSingleIP() {
			b = ban.Prefix.Addr().AppendTo(b)
		} else {
			b = ban.Prefix.AppendTo(b)
		}
		b = appendJSONTime(append(b, `","start":`...), ban.Start)
		b = append(b, `,"until":`...)
		if ban.Until.IsZero() {
			b = append(b, "null"...)
		} else {
			b = appendJSONTime(b, ban.Until)
		}
		if ban.Failures != 0 {
			b = strconv.AppendInt(append(b, `,"failures":`...), int64(ban.Failures), 10)
		}
		b = strconv.AppendInt(append(b, `,"offense":`...), int64(ban.Offense), 10)
		return append(b, '}')
	})
	jw.field("step", stepName(r.Step))
	jw.list("timeline", len(r.Timeline), func(i int) any {
		b := r.Timeline[i]
		return BucketJSON{Start: Time(b.Start), Failures: b.Failures, Bans: b.Bans}
	})
	jw.list("users", len(r.Users), func(i int) any {
		u := r.Users[i]
		return UserJSON{User: u.Name, Failures: u.Failures, Addresses: u.Addresses}
	})
	if w := r.WhatIf; w != nil {
		doc := WhatIfJSON{Set: w.Set, ConfiguredBans: w.Bans, ConfiguredBanned: w.Banned,
			OnlyWhatIf: []JailIPJSON{}, OnlyConfigured: []JailIPJSON{}}
		for _, p := range w.OnlyWhatIf {
			doc.OnlyWhatIf = append(doc.OnlyWhatIf, JailIPJSON{p.Jail, enforce.Addr(p.Prefix)})
		}
		for _, p := range w.OnlyConfigured {
			doc.OnlyConfigured = append(doc.OnlyConfigured, JailIPJSON{p.Jail, enforce.Addr(p.Prefix)})
		}
		jw.field("whatif", doc)
	}
	jw.w.WriteString("\n}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

// jsonWriter writes an object's members one by one and keeps the first
// encoding error.
type jsonWriter struct {
	w      *bufio.Writer
	fields int
	err    error
}

func (j *jsonWriter) key(k string) {
	if j.fields > 0 {
		j.w.WriteString(",")
	}
	j.fields++
	j.w.WriteString("\n  \"" + k + "\": ")
}

func (j *jsonWriter) value(v any) {
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	j.w.Write(b)
}

func (j *jsonWriter) field(k string, v any) {
	j.key(k)
	j.value(v)
}

// listRaw is list for elements that encode themselves.
func (j *jsonWriter) listRaw(k string, n int, elem func([]byte, int) []byte) {
	j.key(k)
	j.w.WriteString("[")
	var b []byte
	for i := range n {
		if i > 0 {
			j.w.WriteString(",")
		}
		j.w.WriteString("\n    ")
		b = elem(b[:0], i)
		j.w.Write(b)
	}
	if n > 0 {
		j.w.WriteString("\n  ")
	}
	j.w.WriteString("]")
}

// appendJSONString appends s as encoding/json writes it: plain text
// directly, anything else (quotes, backslashes, <, >, &, control
// characters, non-ASCII, invalid UTF-8) through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func (j *jsonWriter) list(k string, n int, elem func(int) any) {
	j.key(k)
	j.w.WriteString("[")
	for i := range n {
		if i > 0 {
			j.w.WriteString(",")
		}
		j.w.WriteString("\n    ")
		j.value(elem(i))
	}
	if n > 0 {
		j.w.WriteString("\n  ")
	}
	j.w.WriteString("]")
}

func stepName(d time.Duration) string {
	if d >= 24*time.Hour {
		return "day"
	}
	return "hour"
}

// WriteReplayCSV writes one row per address: the table a spreadsheet
// wants for "who attacked". Bans counts the bans the policy issued to the
// address, in any jail, its own or its network's (ban_prefix6), and
// first_ban is the first one's start.
func WriteReplayCSV(w io.Writer, r *Replay) error {
	type banned struct {
		n     int
		first time.Time
	}
	bans := map[netip.Prefix]*banned{}
	var lens []int // the prefix lengths banned
	for _, b := range r.Bans {
		if bans[b.Prefix] == nil {
			bans[b.Prefix] = &banned{first: b.Start}
			if !slices.Contains(lens, b.Prefix.Bits()) {
				lens = append(lens, b.Prefix.Bits())
			}
		}
		bans[b.Prefix].n++
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"ip", "failures", "first", "last", "jails", "users", "bans", "first_ban"})
	for _, ip := range r.IPs {
		row := []string{ip.Addr.String(), itoa(ip.Failures), Time(ip.First), Time(ip.Last), strings.Join(ip.Jails, ","),
			csvText(strings.Join(ip.Users, ",")), "0", ""}
		var sum banned
		for _, n := range lens {
			p, err := ip.Addr.Prefix(n)
			if b := bans[p]; err == nil && b != nil {
				if sum.n == 0 || b.first.Before(sum.first) {
					sum.first = b.first
				}
				sum.n += b.n
			}
		}
		if sum.n > 0 {
			row[6], row[7] = strconv.Itoa(sum.n), Time(sum.first)
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// csvText keeps a spreadsheet from reading log text as a formula (user
// names are chosen by attackers) and makes control characters visible.
func csvText(s string) string {
	s = Printable(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		s = "'" + s
	}
	return s
}
