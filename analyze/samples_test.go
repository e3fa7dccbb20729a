package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // fail2ban's samples are dated in Europe/Zurich

	"logjail/internal/f2btest"
	"logjail/internal/testenv"
)

// The agreement with fail2ban's annotated sample logs.
//
// Debian's fail2ban package installs fail2ban's annotated test logs, one
// file per filter (their format: internal/f2btest). They are read where
// the package installed them, at test time: they are fail2ban's (GPL) and
// never copied here.
//
// TestFail2banSamples runs each built-in filter over its files in each mode
// the annotations name and logjail's filter offers. A (line, mode) agrees
// when logjail counts it exactly when fail2ban must, and then for the same
// client at the same whole second. Every run that does not agree must be
// listed in the filter's known differences, with the reason, and every
// listed difference must still disagree: the table stays true. On top,
// every line fail2ban marks as an injection case ("inject" in its
// annotation or the comments before it) must agree, and each filter must
// agree on at least minAgreement of its runs. The one exception to both:
// a line whose annotation the daemon's own format contradicts, listed in
// the filter's wrong annotations with the client logjail must report
// there (checked exactly), and shown apart in the figures.
//
// Modes: fail2ban's default and "normal" are a filter's default; a
// filter without modes maps the fail2ban modes it matches to its one
// behaviour (postfix: fail2ban's "auth"), and lists the others, with the
// reason, as modes it does not offer: their lines are counted as not run.
// Lines of logtype "journal" get a syslog date put before them, as
// journalctl prints them.
//
// Run with -v to see the figures:
//
//	go test ./analyze -run TestFail2banSamples -v

// samplesDir is where Debian's fail2ban package installs the sample logs.
// LOGJAIL_F2B_SAMPLES names another copy (a newer fail2ban's) to measure
// against; the known differences are those of Debian's.
var samplesDir = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"

func init() {
	if d := os.Getenv("LOGJAIL_F2B_SAMPLES"); d != "" {
		samplesDir = d
	}
}

// minAgreement is the share of runs that must agree, per filter.
const minAgreement = 0.98

// sampleFilter says how one built-in filter is tested on the samples.
type sampleFilter struct {
	filter string // logjail's filter name
	// files are the sample files; the first is named after fail2ban's
	// filter, which the annotations' conditions call "name".
	files []string
	// modes maps the fail2ban modes that logjail's filter has to its
	// own ("" for a filter without modes). Nil: fail2ban's default and
	// "normal" are the filter's default, and a filter with modes takes
	// fail2ban's mode names as they are.
	modes map[string]string
	// unoffered are fail2ban modes that logjail's filter does not have,
	// with the reason; lines tested only in those modes are not run.
	unoffered map[string]string
	// known lists the runs that disagree on purpose or for now.
	known []knownDiff
	// wrong lists the lines whose annotation the daemon's own format
	// contradicts, where following it would count an address the client
	// wrote; logjail must report exactly the client given there.
	wrong []wrongAnnotation
}

// wrongAnnotation is a (file, line, mode) where fail2ban's annotation is
// wrong for the daemon that writes such lines. host is the client logjail
// reports ("-" for none). These runs disagree, may be injection cases, and
// are left out of the share that must reach minAgreement (the figures
// show them).
type wrongAnnotation struct {
	file string
	line int
	mode string
	host string
	why  string
}

// knownDiff is a (file, line, mode) on which logjail and fail2ban's
// annotation disagree. mode is logjail's mode ("" for filters without modes).
type knownDiff struct {
	file string
	line int
	mode string
	why  string
}

// sampleFilters is the per-filter table. Keep each filter's entry in step
// with its doc comment's list of deliberate differences.
var sampleFilters = []sampleFilter{
	{
		filter: "sshd",
		files:  []string{"sshd", "sshd-journal"},
		known:  sshdSampleKnown,
	},
	{
		filter: "vsftpd",
		files:  []string{"vsftpd"},
	},
	{
		filter: "proftpd",
		files:  []string{"proftpd"},
	},
	{
		filter: "pure-ftpd",
		files:  []string{"pure-ftpd"},
	},
	{
		filter: "apache-auth",
		files:  []string{"apache-auth"},
		unoffered: map[string]string{
			"aggressive": "logjail's apache-auth has no modes",
		},
		known: apacheSampleKnown,
	},
	{
		filter: "nginx-http-auth",
		files:  []string{"nginx-http-auth"},
		// fail2ban's normal mode is its auth mode.
		modes: map[string]string{"": "", "normal": "", "auth": ""},
		unoffered: map[string]string{
			"fallback":   "SSL handshake failures are no authentication failure",
			"aggressive": "logjail's nginx-http-auth has no modes",
		},
		wrong: []wrongAnnotation{
			{"nginx-http-auth", 14, "", "127.0.0.1", "a Basic user name holds no colon (nginx splits the credentials at the first one), " +
				"so the first `\": password mismatch, client: ` is nginx's and the client 127.0.0.1; fail2ban's 192.0.2.2 is Host header text"},
		},
	},
	{
		filter: "dovecot",
		files:  []string{"dovecot"},
		unoffered: map[string]string{
			"aggressive": "logjail's dovecot has no modes",
		},
		known: dovecotSampleKnown,
	},
	{
		filter: "postfix",
		files:  []string{"postfix"},
		// logjail's postfix counts SASL failures: fail2ban's auth mode.
		modes: map[string]string{"auth": ""},
		unoffered: map[string]string{
			"":           "SMTP rejections are not read by logjail's postfix (fail2ban's default mode)",
			"normal":     "SMTP rejections are not read by logjail's postfix",
			"aggressive": "logjail's postfix has no modes; it counts what fail2ban's auth mode counts",
			"rbl":        "RBL rejections are not read by logjail's postfix",
			"errors":     "protocol errors are not read by logjail's postfix",
			"ddos":       "connection floods are not read by logjail's postfix",
		},
	},
}

// sshdSampleKnown are the sshd runs that disagree, each a deliberate
// difference listed in the sshd filter's doc comment too.
var sshdSampleKnown = []knownDiff{
	{"sshd", 5, "normal", sshdLeadingZero},
	{"sshd", 5, "aggressive", sshdLeadingZero},
	{"sshd-journal", 9, "normal", sshdLeadingZero},
	{"sshd-journal", 9, "aggressive", sshdLeadingZero},
}

const sshdLeadingZero = "192.030.0.6 is no address (inet_pton refuses the leading zero, inet_aton reads 030 as octal 24) " +
	"and no host name: logjail does not count what it could not ban without guessing; fail2ban reports the text"

var apacheSampleKnown = []knownDiff{}

var dovecotSampleKnown = []knownDiff{}

// f2bTestZone and f2bTestNow are the zone and the clock of fail2ban's
// sample tests: CET/CEST, 2005-08-14 12:00:00 CEST.
var (
	f2bTestZone = mustZone("Europe/Zurich")
	f2bTestNow  = time.Unix(1124013600, 0).In(f2bTestZone)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// sample is one annotated log line.
type sample struct {
	file   string
	line   int    // 1-based
	text   string // the log line
	want   map[string]any
	inject bool                // fail2ban marks it as an injection case
	opts   []map[string]string // the option sets it is tested with
}

// sampleRun is the verdict on one sample in one logjail mode.
type sampleRun struct {
	s     *sample
	mode  string
	agree bool
	why   string   // what disagreed
	hosts []string // the clients logjail reported
}

// readSamples reads one sample file: each line once, with the option
// sets it runs in (those its constraint allows). name is fail2ban's
// filter name, for the annotations' conditions.
func readSamples(t *testing.T, path, name string) (samples []*sample, added []string) {
	t.Helper()
	variants, added := f2btest.ReadFile(t, path, name)
	byLine := map[int]*sample{}
	for _, v := range variants {
		opts := map[string]string{}
		for k, x := range v.Opts {
			s, ok := x.(string)
			if !ok {
				t.Fatalf("%s: option %s: %v is not a string", path, k, x)
			}
			opts[k] = s
		}
		for _, c := range v.Cases {
			s := byLine[c.Num]
			if s == nil {
				s = &sample{file: c.File, line: c.Num, text: c.Line, want: c.Want, inject: c.Inject}
				byLine[c.Num] = s
				samples = append(samples, s)
			}
			s.opts = append(s.opts, opts)
		}
	}
	slices.SortFunc(samples, func(a, b *sample) int { return a.line - b.line })
	return samples, added
}

// TestFail2banSamples is the agreement test described above.
func TestFail2banSamples(t *testing.T) {
	if _, err := os.Stat(samplesDir); err != nil {
		testenv.Missing(t, "needs fail2ban's sample logs (Debian package fail2ban): %v", err)
	}
	var summary []string
	for _, sf := range sampleFilters {
		t.Run(sf.filter, func(t *testing.T) {
			runs, skipped := runSamples(t, sf)
			wrong := checkSampleRuns(t, sf, runs)
			n, ok := len(runs), 0
			for _, r := range runs {
				if r.agree {
					ok++
				}
			}
			line := fmt.Sprintf("%-16s %3d/%3d agree (%.1f%%)", sf.filter, ok, n, 100*float64(ok)/float64(max(n, 1)))
			if wrong > 0 {
				line += fmt.Sprintf("; %d/%d (%.1f%%) without %d wrong annotation(s)", ok, n-wrong, 100*float64(ok)/float64(max(n-wrong, 1)), wrong)
			}
			if skipped > 0 {
				line += fmt.Sprintf("; %d line(s) only in modes logjail does not offer", skipped)
			}
			summary = append(summary, line)
			if n == 0 {
				t.Fatalf("%s: no sample line run", sf.filter)
			}
			if float64(ok) < minAgreement*float64(n-wrong) {
				t.Errorf("%s: %d/%d agree, below %.0f%%", sf.filter, ok, n-wrong, 100*minAgreement)
			}
		})
	}
	t.Log("agreement with fail2ban's samples:\n" + strings.Join(summary, "\n"))
}

// runSamples runs the filter over its sample files in every mode named by
// their annotations. skipped counts the lines tested by fail2ban only in
// modes the filter does not offer.
func runSamples(t *testing.T, sf sampleFilter) (runs []sampleRun, skipped int) {
	t.Helper()
	f, ok := Builtin(sf.filter)
	if !ok {
		t.Fatalf("no built-in filter %q", sf.filter)
	}
	name := sf.files[0]
	for _, file := range sf.files {
		samples, added := readSamples(t, filepath.Join(samplesDir, file), name)
		for _, a := range added {
			found := false
			for _, x := range sf.files {
				found = found || x == a
			}
			if !found {
				t.Errorf("%s adds sample file %s, which the harness does not read", file, a)
			}
		}
		// One matcher per mode and file: it sees, in order, every line
		// tested in its mode, as fail2ban's filter per option set does.
		matchers := map[string]Matcher{}
		tp := NewTimeParser(f2bTestNow, f2bTestZone)
		for _, s := range samples {
			modes := map[string]bool{}
			ran := false
			for _, o := range s.opts {
				where := fmt.Sprintf("%s:%d", file, s.line)
				for k := range o {
					switch k {
					case "mode", "logtype", "logging", "test.condition":
					default:
						t.Fatalf("%s: option %q: not understood by the harness", where, k)
					}
				}
				mode, ok := sf.logjailMode(f, o["mode"])
				if !ok {
					if _, ok := sf.unoffered[o["mode"]]; !ok {
						t.Errorf("%s: fail2ban tests mode %q, which logjail's %s lacks and the table does not list", where, o["mode"], sf.filter)
					}
					continue
				}
				ran = true
				if modes[mode] {
					continue // {} and {"mode": "normal"}: one logjail run
				}
				modes[mode] = true
				m := matchers[mode]
				if m == nil {
					m = f.New(mode)
					matchers[mode] = m
				}
				text := s.text
				if o["logtype"] == "journal" {
					// journalctl's short output: the samples hold the
					// message without the date.
					text = f2bTestNow.Format(time.Stamp) + " " + text
				}
				fs, _ := m.Match(nil, int64(s.line), []byte(text), tp)
				why := judgeSample(s, fs)
				r := sampleRun{s: s, mode: mode, agree: why == "", why: why}
				for i := range fs {
					r.hosts = append(r.hosts, fs[i].HostString())
				}
				runs = append(runs, r)
			}
			if !ran {
				skipped++
			}
		}
	}
	return runs, skipped
}

// logjailMode returns logjail's mode for fail2ban's mode m.
func (sf *sampleFilter) logjailMode(f *Filter, m string) (string, bool) {
	if sf.modes != nil {
		mode, ok := sf.modes[m]
		return mode, ok
	}
	mode, err := f.CheckMode(m)
	return mode, err == nil
}

// judgeSample returns "" when the failures logjail found on the sample's
// line agree with its annotation, else what differs.
func judgeSample(s *sample, fs []Failure) string {
	match, _ := s.want["match"].(bool)
	switch {
	case !match && len(fs) == 0:
		return ""
	case !match:
		return fmt.Sprintf("logjail counts %s, fail2ban nothing", fs[0].HostString())
	case len(fs) == 0:
		if h, ok := s.want["host"].(string); ok {
			return fmt.Sprintf("fail2ban counts %s, logjail nothing", h)
		}
		return "fail2ban counts a failure, logjail nothing"
	}
	if h, ok := s.want["host"].(string); ok {
		for i := range fs {
			if canonHost(fs[i].HostString()) != canonHost(h) {
				return fmt.Sprintf("logjail counts %s, fail2ban %s", fs[i].HostString(), h)
			}
		}
	}
	if ts, ok := s.want["time"].(string); ok {
		want, err := time.ParseInLocation("2006-01-02T15:04:05.999999", ts, f2bTestZone)
		if err != nil {
			return fmt.Sprintf("annotation time %q: %v", ts, err)
		}
		if strings.HasPrefix(s.text, "@4000") {
			// fail2ban reads a TAI64N label as Unix seconds + 2^62;
			// daemontools, runit and libtai write Unix seconds + 2^62 +
			// 10 (TAI was 10 s ahead of UTC in 1970), which logjail
			// subtracts: the same instant is 10 s apart in the two.
			want = want.Add(-10 * time.Second)
		}
		for i := range fs {
			if got := fs[i].Time; got.Unix() != want.Unix() {
				return fmt.Sprintf("logjail's time %s, fail2ban's %s", got.In(f2bTestZone).Format(time.RFC3339), want.Format(time.RFC3339))
			}
		}
	}
	return ""
}

// checkSampleRuns holds the runs against the filter's known differences
// and wrong annotations: exactly the listed runs disagree, no injection
// case does unless its annotation is wrong, and where it is, logjail
// reports the client listed. It returns the number of wrong annotations.
func checkSampleRuns(t *testing.T, sf sampleFilter, runs []sampleRun) int {
	t.Helper()
	type key struct {
		file string
		line int
		mode string
	}
	known := map[key]string{}
	for _, d := range sf.known {
		k := key{d.file, d.line, d.mode}
		if _, dup := known[k]; dup {
			t.Errorf("known difference %s:%d mode %q listed twice", d.file, d.line, d.mode)
		}
		known[k] = d.why
	}
	wrong := map[key]string{}
	for _, w := range sf.wrong {
		wrong[key{w.file, w.line, w.mode}] = w.host
	}
	var problems []string
	nwrong := 0
	for _, r := range runs {
		k := key{r.s.file, r.s.line, r.mode}
		if host, ok := wrong[k]; ok {
			delete(wrong, k)
			nwrong++
			got := strings.Join(dedup(r.hosts), ",")
			if got == "" {
				got = "-"
			}
			if r.agree || got != host {
				problems = append(problems, fmt.Sprintf("%s:%d mode %q: wrong annotation: logjail reports %s, want %s", k.file, k.line, k.mode, got, host))
			}
			continue
		}
		_, listed := known[k]
		delete(known, k)
		switch {
		case r.agree && listed:
			problems = append(problems, fmt.Sprintf("%s:%d mode %q agrees now: remove it from the known differences", k.file, k.line, k.mode))
		case !r.agree && r.s.inject:
			problems = append(problems, fmt.Sprintf("%s:%d mode %q: injection case disagrees: %s\n\t%s", k.file, k.line, k.mode, r.why, r.s.text))
		case !r.agree && !listed:
			problems = append(problems, fmt.Sprintf("%s:%d mode %q: %s (not a known difference)\n\t%s\n\t{%q, %d, %q, %q},", k.file, k.line, k.mode, r.why, r.s.text, k.file, k.line, k.mode, r.why))
		}
	}
	for k := range known {
		problems = append(problems, fmt.Sprintf("%s:%d mode %q: known difference that was not run", k.file, k.line, k.mode))
	}
	for k := range wrong {
		problems = append(problems, fmt.Sprintf("%s:%d mode %q: wrong annotation that was not run", k.file, k.line, k.mode))
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
	return nwrong
}
