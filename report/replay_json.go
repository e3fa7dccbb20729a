package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ReplayJSON is the document `replay --format json` prints.
type ReplayJSON struct {
	From      *string          `json:"from"`
	To        *string          `json:"to"`
	Lines     int64            `json:"lines"`
	Failures  int64            `json:"failures"`
	Addresses int              `json:"addresses"`
	Files     []ReplayFileJSON `json:"files"`
	Jails     []ReplayJailJSON `json:"jails"`
	IPs       []ReplayIPJSON   `json:"ips"`
	Bans      []BanJSON        `json:"bans"`
	// Step is "hour" or "day": the length of a timeline bucket.
	Step     string       `json:"step"`
	Timeline []BucketJSON `json:"timeline"`
	Users    []UserJSON   `json:"users"`
}

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

// JSON returns the report's JSON document.
func (r *Replay) JSON() *ReplayJSON {
	d := &ReplayJSON{Lines: r.Lines, Failures: r.Failures, Addresses: len(r.IPs), Step: stepName(r.Step),
		Files: []ReplayFileJSON{}, Jails: []ReplayJailJSON{}, IPs: []ReplayIPJSON{}, Bans: []BanJSON{},
		Timeline: []BucketJSON{}, Users: []UserJSON{}}
	if r.Failures > 0 {
		d.From, d.To = Until(r.From), Until(r.To)
	}
	for _, f := range r.Files {
		d.Files = append(d.Files, ReplayFileJSON(f))
	}
	for _, j := range r.Jails {
		d.Jails = append(d.Jails, ReplayJailJSON{Name: j.Name, Failures: j.Failures, Addresses: j.Addresses, Bans: j.Bans,
			MaxRetry: j.MaxRetry, FindTime: durationText(j.FindTime, false), BanTime: durationText(j.BanTime, j.Permanent)})
	}
	for _, ip := range r.IPs {
		users := ip.Users
		if users == nil {
			users = []string{}
		}
		d.IPs = append(d.IPs, ReplayIPJSON{IP: ip.Addr.String(), Failures: ip.Failures, First: Time(ip.First), Last: Time(ip.Last), Jails: ip.Jails, Users: users})
	}
	for _, b := range r.Bans {
		d.Bans = append(d.Bans, BanJSON{Jail: b.Jail, IP: IP(b.Prefix), Start: Time(b.Start), Until: Until(b.Until), Offense: b.Offense, Failures: b.Failures})
	}
	for _, b := range r.Timeline {
		d.Timeline = append(d.Timeline, BucketJSON{Start: Time(b.Start), Failures: b.Failures, Bans: b.Bans})
	}
	for _, u := range r.Users {
		d.Users = append(d.Users, UserJSON{User: u.Name, Failures: u.Failures, Addresses: u.Addresses})
	}
	return d
}

// WriteReplayJSON writes the report's JSON document with one line per list
// element: as easy to read (and to grep) as indented JSON, and encoded
// element by element, never held whole in memory.
func WriteReplayJSON(w io.Writer, r *Replay) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	d := reflect.ValueOf(r.JSON()).Elem()
	bw.WriteString("{")
	for i := range d.NumField() {
		if i > 0 {
			bw.WriteString(",")
		}
		key := strings.Split(d.Type().Field(i).Tag.Get("json"), ",")[0]
		bw.WriteString("\n  \"" + key + "\": ")
		v := d.Field(i)
		if v.Kind() != reflect.Slice {
			if err := writeCompact(bw, v.Interface()); err != nil {
				return err
			}
			continue
		}
		bw.WriteString("[")
		for j := range v.Len() {
			if j > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			if err := writeCompact(bw, v.Index(j).Interface()); err != nil {
				return err
			}
		}
		if v.Len() > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]")
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

func writeCompact(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func stepName(d time.Duration) string {
	if d >= 24*time.Hour {
		return "day"
	}
	return "hour"
}

// WriteReplayCSV writes one row per address: the table a spreadsheet
// wants for "who attacked". Bans counts the bans the policy issued to the
// address, in any jail, and first_ban is the first one's start.
func WriteReplayCSV(w io.Writer, r *Replay) error {
	type banned struct {
		n     int
		first time.Time
	}
	bans := map[string]*banned{}
	for _, b := range r.Bans {
		k := b.Prefix.Addr().String()
		if bans[k] == nil {
			bans[k] = &banned{first: b.Start}
		}
		bans[k].n++
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"ip", "failures", "first", "last", "jails", "users", "bans", "first_ban"})
	for _, ip := range r.IPs {
		row := []string{ip.Addr.String(), itoa(ip.Failures), Time(ip.First), Time(ip.Last), strings.Join(ip.Jails, ","),
			csvText(strings.Join(ip.Users, ",")), "0", ""}
		if b := bans[ip.Addr.String()]; b != nil {
			row[6], row[7] = strconv.Itoa(b.n), Time(b.first)
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
