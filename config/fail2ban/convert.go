package fail2ban

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"logjail/analyze"
	"logjail/config"
)

// Import is a fail2ban configuration turned into logjail's.
type Import struct {
	// YAML is the logjail configuration, with a comment per jail saying
	// where its values came from.
	YAML []byte
	// Notes are what the operator must know: settings logjail does not
	// support, choices made (built-in filters, the firewall backend,
	// recidive). One line each, naming the jail and file.
	Notes []string
	// Counts of the enabled jails' filters: imported as fail2ban-style
	// mappings, mapped to a built-in filter.
	Imported, Builtin int
	// Enabled and Jails count the jails read: enabled, and in all (set
	// by [ImportDir]).
	Enabled, Jails int
}

// Problems are every problem of a configuration, one per line.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

// ImportDir reads the fail2ban configuration in dir, converts its enabled
// jails and checks the result with logjail's own parser: only a
// configuration that passes config check is returned. Otherwise the error
// is [Problems], every one at once (the jails that resolved are converted
// too, so that their problems are among them), or the check's failure,
// which is a bug in the import.
func ImportDir(dir string) (*Import, error) {
	cfg, probs := Read(dir)
	if cfg == nil {
		return nil, Problems(probs)
	}
	imp, cprobs := Convert(cfg)
	if probs = append(probs, cprobs...); len(probs) > 0 {
		return nil, Problems(probs)
	}
	if _, err := config.Parse(bytes.NewReader(imp.YAML), "imported configuration"); err != nil {
		return nil, fmt.Errorf("the configuration made from %s does not pass config check (a bug in the import):\n%w", dir, err)
	}
	imp.Jails = len(cfg.Jails)
	for _, j := range cfg.Jails {
		if j.Enabled {
			imp.Enabled++
		}
	}
	return imp, nil
}

// builtinFor names the built-in filter that does a fail2ban filter's work
// in a mode, or "" when there is none: postfix only in mode auth (the
// built-in reads SASL failures only, fail2ban's default mode more reads
// much else).
func builtinFor(name, mode string) (builtin, builtinMode string) {
	switch name {
	case "sshd":
		switch mode {
		case "", "normal", "ddos", "extra", "aggressive":
			return "sshd", mode
		}
	case "postfix":
		if mode == "auth" {
			return "postfix", ""
		}
	case "dovecot", "apache-auth", "nginx-http-auth", "proftpd", "pure-ftpd", "vsftpd":
		if mode == "" || mode == "normal" {
			return name, ""
		}
	}
	return "", ""
}

// unsupported are jail settings logjail has no equivalent for, with what
// it does instead; listed when a jail sets them to something else than
// fail2ban's default.
var unsupported = []struct{ key, def, note string }{
	{"bantime.formula", "", "logjail multiplies by bantime_increment.factor per ban"},
	{"bantime.rndtime", "", "no random extra ban time"},
	{"bantime.overalljails", "false", "offenses are counted per jail"},
	{"ignorecommand", "", "no command decides; use ignoreip"},
	{"usedns", "warn", "host names in logs are reported, never resolved"},
	{"logtimezone", "", "times without a zone are in the machine's zone"},
	{"ignorecache", "", "not needed: no ignorecommand"},
}

// firewallOf maps a ban action to logjail's firewall backend.
func firewallOf(action string) (string, bool) {
	switch {
	case strings.HasPrefix(action, "iptables-ipset"):
		return config.BackendIPSet, true
	case strings.HasPrefix(action, "iptables"):
		return config.BackendIPTables, true
	case strings.HasPrefix(action, "nftables"):
		return config.BackendNFTables, true
	}
	return "", false
}

// isMail reports an action that sends mail per ban.
func isMail(action string) bool {
	return strings.HasPrefix(action, "sendmail") || strings.HasPrefix(action, "mail")
}

// Convert turns the enabled jails of cfg into a logjail configuration. It
// returns every problem at once (each naming file and line); with any
// problem the Import is nil.
func Convert(cfg *Config) (*Import, []Problem) {
	imp := &Import{}
	var probs []Problem
	jails := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	backends := map[string][]string{}
	var blocktype string
	var digestTo, digestFrom string
	var recidive *Jail
	for _, j := range cfg.Jails {
		if !j.Enabled {
			continue
		}
		if j.Name == "recidive" {
			recidive = j
			continue
		}
		key, val, jp, notes := convertJail(cfg, j, imp)
		probs = append(probs, jp...)
		imp.Notes = append(imp.Notes, notes...)
		if key != nil {
			jails.Content = append(jails.Content, key, val)
		}
		for _, a := range j.Actions {
			switch fw, ok := firewallOf(a.Name); {
			case ok:
				backends[fw] = append(backends[fw], j.Name)
				if bt := a.Opts["blocktype"]; bt != "" && blocktype == "" {
					blocktype = bt
				}
			case isMail(a.Name):
				if to := a.Opts["dest"]; to != "" {
					digestTo = to
				} else if d, ok := j.Get("destemail"); ok {
					digestTo = d
				}
				if s := a.Opts["sender"]; s != "" {
					digestFrom = s
				}
				imp.Notes = append(imp.Notes, fmt.Sprintf("%s: jail %s: action %s: mail per ban becomes logjail's digest", a.At, j.Name, a.Name))
			case a.Name == "dummy":
			default:
				probs = append(probs, Problem{File: atFile(a.At), Line: atLine(a.At),
					Msg: fmt.Sprintf("jail %s: action %s has no logjail equivalent (logjail bans in the local firewall and mails a digest); remove it from the jail's action, or disable the jail", j.Name, a.Name)})
			}
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	root.HeadComment = fmt.Sprintf("logjail configuration imported from the fail2ban configuration in %s\n"+
		"by logjail config import-fail2ban: review it, then check it with logjail config check.", cfg.Dir)
	fw := config.BackendIPTables
	if len(backends) > 0 {
		best := 0
		for b, js := range backends {
			if len(js) > best || len(js) == best && b < fw {
				fw, best = b, len(js)
			}
		}
		if len(backends) > 1 {
			var others []string
			for b, js := range backends {
				if b != fw {
					others = append(others, fmt.Sprintf("%s (jails %s)", b, strings.Join(js, ", ")))
				}
			}
			sort.Strings(others)
			imp.Notes = append(imp.Notes, fmt.Sprintf("logjail uses one firewall backend: %s, as most jails; also asked for: %s", fw, strings.Join(others, "; ")))
		}
	}
	fwNode := mapping("backend", scalar(fw))
	if bt := strings.Fields(blocktype); len(bt) > 0 && (bt[0] == "DROP" || bt[0] == "REJECT") {
		fwNode.Content = append(fwNode.Content, scalar("blocktype"), scalar(bt[0]))
	}
	root.Content = append(root.Content, scalar("firewall"), fwNode)
	if recidive != nil {
		def, note, p := recidiveDefaults(recidive)
		probs = append(probs, p...)
		if def != nil {
			root.Content = append(root.Content, scalar("defaults"), def)
		}
		imp.Notes = append(imp.Notes, note)
	}
	root.Content = append(root.Content, scalar("jails"), jails)
	if digestTo != "" {
		d := mapping("to", flowSeq(SplitWords(digestTo)...))
		if digestFrom != "" {
			d.Content = append(d.Content, scalar("from"), scalar(digestFrom))
		}
		d.Content = append(d.Content, scalar("every"), scalar("1h"))
		root.Content = append(root.Content, scalar("digest"), d)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
	if err != nil {
		return nil, []Problem{{Msg: fmt.Sprintf("write YAML: %v", err)}}
	}
	imp.YAML = out
	return imp, nil
}

func atFile(at string) string {
	f, _, _ := strings.Cut(at, ":")
	return f
}

func atLine(at string) int {
	_, l, _ := strings.Cut(at, ":")
	n, _ := strconv.Atoi(l)
	return n
}

// recidiveDefaults turns fail2ban's recidive jail (ban again, longer, who
// was banned often) into logjail's bantime_increment: each ban of an
// address lasts factor times the last, up to recidive's bantime.
func recidiveDefaults(j *Jail) (*yaml.Node, string, []Problem) {
	bt, _ := j.Get("bantime")
	d, perm, err := Duration(bt)
	if err != nil {
		return nil, "", []Problem{{File: atFile(j.Where("bantime")), Line: atLine(j.Where("bantime")), Msg: fmt.Sprintf("jail recidive: bantime: %v", err)}}
	}
	inc := mapping("enabled", scalar("true"), "factor", scalar("2"))
	max := "permanent"
	if !perm {
		max = config.FormatDuration(d)
		inc.Content = append(inc.Content, scalar("maxtime"), scalar(max))
	}
	n := mapping("bantime_increment", inc)
	return n, fmt.Sprintf("jail recidive (%s): becomes bantime_increment in defaults: each new ban of an address in a jail lasts twice the last, up to %s (logjail does not read its own log)", j.Where("enabled"), max), nil
}

// convertJail writes one jail.
func convertJail(cfg *Config, j *Jail, imp *Import) (key, val *yaml.Node, probs []Problem, notes []string) {
	bad := func(k, format string, args ...any) {
		at := j.Where(k)
		probs = append(probs, Problem{File: atFile(at), Line: atLine(at), Msg: fmt.Sprintf("jail %s: ", j.Name) + fmt.Sprintf(format, args...)})
	}
	note := func(k, format string, args ...any) {
		at := j.Where(k)
		if at != "" {
			at += ": "
		}
		notes = append(notes, at+fmt.Sprintf("jail %s: ", j.Name)+fmt.Sprintf(format, args...))
	}
	m := mapping("enabled", scalar("true"))
	var src []string
	from := func(what, k string) {
		if w := j.Where(k); w != "" {
			src = append(src, what+" "+rel(cfg.Dir, w))
		}
	}
	from("enabled", "enabled")

	// The filter.
	mode := j.FilterOpts["mode"]
	b, bmode := builtinFor(j.FilterName, mode)
	own := j.userRegexes(cfg.Dir)
	switch {
	case j.Filter == nil:
		bad("filter", "names no filter")
	case b != "" && own == "":
		m.Content = append(m.Content, scalar("filter"), scalar(b))
		if bmode != "" && bmode != "normal" {
			m.Content = append(m.Content, scalar("mode"), scalar(bmode))
		}
		imp.Builtin++
		src = append(src, fmt.Sprintf("filter %s%s: logjail's built-in", j.FilterName, modeText(mode)))
	default:
		fm, err := j.fail2banFilter()
		if err != nil {
			for _, e := range unjoinErr(err) {
				at, msg := j.Where("filter"), e.Error()
				var re *analyze.RegexError
				if errors.As(e, &re) {
					if v, ok := j.Regexes(re.Kind); ok && v.file != "" {
						at = v.where()
					}
					msg = fmt.Sprintf("%s %d: %v", re.Kind, re.Index, re.Err)
				}
				probs = append(probs, Problem{File: atFile(at), Line: atLine(at),
					Msg: fmt.Sprintf("jail %s: filter %s: %s; override it in filter.d/%s.local%s, or disable the jail",
						j.Name, j.FilterName, msg, j.FilterName, builtinHint(j.FilterName))})
			}
			break
		}
		m.Content = append(m.Content, scalar("filter"), fm)
		imp.Imported++
		why := ""
		if b != "" {
			why = " (not the built-in: " + own + ")"
		}
		src = append(src, fmt.Sprintf("filter %s%s from %s%s", j.FilterName, modeText(mode), strings.Join(relAll(cfg.Dir, j.Filter.Files), ", "), why))
	}

	// Where the lines come from.
	backend, _ := j.Get("backend")
	if strings.HasPrefix(backend, "systemd") {
		jn := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if v, ok := j.Regexes("journalmatch"); ok && strings.TrimSpace(v.text) != "" {
			var words []string
			for _, l := range splitLines(v.text) {
				if len(words) > 0 {
					words = append(words, "+")
				}
				words = append(words, strings.Fields(l)...)
			}
			jn.Content = append(jn.Content, scalar("match"), flowSeq(words...))
			from("journalmatch", "journalmatch")
		}
		if jn.Content == nil {
			jn.Style = yaml.FlowStyle
		}
		m.Content = append(m.Content, scalar("journal"), jn)
		from("backend", "backend")
	} else {
		lp, _ := j.Get("logpath")
		var globs []string
		tails := 0
		for _, l := range splitLines(lp) {
			l = strings.TrimSpace(l)
			if i := strings.LastIndexByte(l, ' '); i > 0 && (l[i+1:] == "tail" || l[i+1:] == "head") {
				if l[i+1:] == "tail" {
					tails++
				}
				l = strings.TrimSpace(l[:i])
			}
			globs = append(globs, l)
		}
		if len(globs) == 0 {
			bad("logpath", "no logpath")
		}
		m.Content = append(m.Content, scalar("logpath"), flowSeq(globs...))
		if tails > 0 {
			m.Content = append(m.Content, scalar("start"), scalar("end"))
			if tails < len(globs) {
				note("logpath", "some logpath files are marked tail: logjail reads every new file of the jail from its end")
			}
		}
		from("logpath", "logpath")
	}

	// The policy.
	if v, ok := j.Get("maxretry"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
			bad("maxretry", "maxretry %q is not a positive number", v)
		} else {
			m.Content = append(m.Content, scalar("maxretry"), scalar(strconv.Itoa(n)))
			from("maxretry", "maxretry")
		}
	}
	for _, k := range []string{"findtime", "bantime"} {
		v, ok := j.Get(k)
		if !ok {
			continue
		}
		d, perm, err := Duration(v)
		switch {
		case err != nil:
			bad(k, "%s: %v", k, err)
		case perm && k == "findtime":
			bad(k, "findtime %q: a window must be a duration", v)
		case perm:
			m.Content = append(m.Content, scalar(k), scalar(config.Permanent))
		default:
			m.Content = append(m.Content, scalar(k), scalar(config.FormatDuration(d)))
		}
		from(k, k)
	}
	if inc, _ := j.Get("bantime.increment"); inc != "" {
		if on, _ := pyBool(inc); on {
			n, p := incrementNode(j)
			probs = append(probs, p...)
			if n != nil {
				m.Content = append(m.Content, scalar("bantime_increment"), n)
			}
			from("bantime.increment", "bantime.increment")
		}
	}
	if v, ok := j.Get("ignoreip"); ok && strings.TrimSpace(v) != "" {
		var ips []string
		for _, w := range SplitWords(v) {
			if _, err := config.ParseIgnoreIP(w); err != nil {
				bad("ignoreip", "ignoreip %q: %v (logjail takes addresses and networks only; write the address)", w, err)
				continue
			}
			ips = append(ips, w)
		}
		m.Content = append(m.Content, scalar("ignoreip"), flowSeq(ips...))
		from("ignoreip", "ignoreip")
	}

	// Ports and protocol, as the jail's ban action gets them.
	if v, ok := j.Get("port"); ok {
		ports, err := convertPorts(v)
		if err != nil {
			bad("port", "port: %v", err)
		} else {
			m.Content = append(m.Content, scalar("port"), ports)
		}
		from("port", "port")
	}
	if v, ok := j.Get("protocol"); ok {
		switch p := strings.TrimSpace(v); p {
		case config.ProtoTCP, config.ProtoUDP:
			m.Content = append(m.Content, scalar("protocol"), scalar(p))
		default:
			bad("protocol", "protocol %q: logjail bans tcp or udp", p)
		}
	}
	protos := map[string]bool{}
	for _, a := range j.Actions {
		if _, ok := firewallOf(a.Name); ok && a.Opts["protocol"] != "" {
			protos[a.Opts["protocol"]] = true
		}
	}
	if len(protos) > 1 {
		note("action", "actions for several protocols; logjail's jail has one port list and protocol: the first action's")
	}

	for _, u := range unsupported {
		if v, ok := j.Get(u.key); ok && strings.TrimSpace(v) != "" && strings.TrimSpace(v) != u.def {
			note(u.key, "%s = %s is not supported (%s)", u.key, strings.TrimSpace(v), u.note)
		}
	}
	if mult, ok := j.Get("bantime.multipliers"); ok && strings.TrimSpace(mult) != "" {
		if _, ok := geometric(mult); !ok {
			note("bantime.multipliers", "bantime.multipliers = %s is not supported (logjail multiplies by one factor per ban)", mult)
		}
	}

	key = scalar(j.Name)
	key.HeadComment = "fail2ban jail " + j.Name + ": " + strings.Join(src, "; ")
	return key, m, probs, notes
}

func modeText(mode string) string {
	if mode == "" {
		return ""
	}
	return "[mode=" + mode + "]"
}

func builtinHint(name string) string {
	if b, _ := builtinFor(name, ""); b != "" {
		return ", use the built-in (filter: " + b + ")"
	}
	return ""
}

// userRegexes says why a jail's filter is not fail2ban's stock one: the
// jail sets its own expressions, or a .local or NAME.d file changes them.
// "" means stock.
func (j *Jail) userRegexes(dir string) string {
	for _, k := range []string{"failregex", "ignoreregex", "prefregex", "datepattern"} {
		if v, ok := j.Values[k]; ok && strings.TrimSpace(v.text) != "" {
			return "the jail sets " + k + " at " + rel(dir, v.where())
		}
	}
	if j.Filter == nil {
		return ""
	}
	base := filepath.Join(dir, "filter.d", j.FilterName)
	for _, f := range j.Filter.Files {
		if f == base+".local" || strings.HasPrefix(f, base+".d/") {
			return rel(dir, f) + " changes it"
		}
	}
	return ""
}

// fail2banFilter writes the jail's filter as a style: fail2ban mapping,
// after checking that logjail can run it.
func (j *Jail) fail2banFilter() (*yaml.Node, error) {
	spec := analyze.Fail2banSpec{Name: j.Name}
	get := func(k string) string {
		v, _ := j.Regexes(k)
		return v.text
	}
	spec.PrefRegex = strings.TrimSpace(get("prefregex"))
	spec.FailRegex = splitLines(get("failregex"))
	spec.IgnoreRegex = splitLines(get("ignoreregex"))
	spec.DatePattern = strings.TrimSpace(get("datepattern"))
	if ml := strings.TrimSpace(get("maxlines")); ml != "" {
		n, err := strconv.Atoi(ml)
		if err != nil {
			return nil, fmt.Errorf("maxlines %q is not a number", ml)
		}
		spec.MaxLines = n
	}
	spec.UseDNS = strings.TrimSpace(get("usedns"))
	if _, err := analyze.NewFail2banFilter(spec); err != nil {
		return nil, err
	}
	n := mapping("style", scalar(config.StyleFail2ban))
	if spec.PrefRegex != "" {
		n.Content = append(n.Content, scalar("prefregex"), quoted(spec.PrefRegex))
	}
	fr := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, r := range spec.FailRegex {
		fr.Content = append(fr.Content, quoted(r))
	}
	n.Content = append(n.Content, scalar("failregex"), fr)
	ir := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, r := range spec.IgnoreRegex {
		ir.Content = append(ir.Content, quoted(r))
	}
	if len(ir.Content) == 0 {
		ir.Style = yaml.FlowStyle
	}
	n.Content = append(n.Content, scalar("ignoreregex"), ir)
	if spec.DatePattern != "" {
		n.Content = append(n.Content, scalar("datepattern"), quoted(spec.DatePattern))
	}
	if spec.MaxLines > 1 {
		n.Content = append(n.Content, scalar("maxlines"), scalar(strconv.Itoa(spec.MaxLines)))
	}
	return n, nil
}

func unjoinErr(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// incrementNode maps bantime.increment, factor, multipliers and maxtime.
// fail2ban's default formula multiplies a ban by e^factor per earlier ban;
// multipliers 1 2 4 8 ... multiply by their ratio.
func incrementNode(j *Jail) (*yaml.Node, []Problem) {
	factor := 1.0
	if f, ok := j.Get("bantime.factor"); ok && strings.TrimSpace(f) != "" {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || x <= 0 {
			at := j.Where("bantime.factor")
			return nil, []Problem{{File: atFile(at), Line: atLine(at), Msg: fmt.Sprintf("jail %s: bantime.factor %q is not a positive number", j.Name, f)}}
		}
		factor = x
	}
	ratio := math.Exp(factor)
	if mult, ok := j.Get("bantime.multipliers"); ok && strings.TrimSpace(mult) != "" {
		if r, ok := geometric(mult); ok {
			ratio = r
		}
	}
	ratio = math.Max(1, math.Round(ratio*1000)/1000)
	n := mapping("enabled", scalar("true"), "factor", scalar(strconv.FormatFloat(ratio, 'f', -1, 64)))
	if mt, ok := j.Get("bantime.maxtime"); ok && strings.TrimSpace(mt) != "" {
		d, perm, err := Duration(mt)
		if err != nil || perm || d <= 0 {
			at := j.Where("bantime.maxtime")
			return nil, []Problem{{File: atFile(at), Line: atLine(at), Msg: fmt.Sprintf("jail %s: bantime.maxtime %q is not a positive duration", j.Name, mt)}}
		}
		n.Content = append(n.Content, scalar("maxtime"), scalar(config.FormatDuration(d)))
	}
	return n, nil
}

// geometric returns the common ratio of multipliers like "1 2 4 8 16".
func geometric(s string) (float64, bool) {
	w := strings.Fields(s)
	if len(w) < 2 {
		return 0, false
	}
	var xs []float64
	for _, x := range w {
		f, err := strconv.ParseFloat(x, 64)
		if err != nil || f <= 0 {
			return 0, false
		}
		xs = append(xs, f)
	}
	r := xs[1] / xs[0]
	for i := 2; i < len(xs); i++ {
		if math.Abs(xs[i]/xs[i-1]-r) > 1e-9 {
			return 0, false
		}
	}
	return r, r >= 1
}

// convertPorts maps fail2ban's port list: 0:65535 (its allports) is all,
// service names logjail does not know are looked up in /etc/services.
func convertPorts(s string) (*yaml.Node, error) {
	var words []string
	for _, w := range SplitWords(s) {
		w = strings.TrimSpace(w)
		switch {
		case w == "0:65535" || w == "1:65535" || w == config.AllPorts:
			return scalar(config.AllPorts), nil
		case w == "":
			continue
		}
		if _, err := config.ParsePorts(w); err == nil {
			words = append(words, w)
			continue
		}
		p, err := net.LookupPort("tcp", w)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a port number nor a service name: %v", w, err)
		}
		words = append(words, strconv.Itoa(p))
	}
	return flowSeq(words...), nil
}

var durationWordRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)`) })

// Duration reads fail2ban's time values: a bare number is seconds, -1
// (any negative number) is permanent, and numbers with units (s, m, h, d,
// w, mo, y and their long forms) add up: "1h 30m".
func Duration(s string) (d time.Duration, permanent bool, err error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(t, 64); err == nil {
		if n < 0 {
			return 0, true, nil
		}
		return time.Duration(n * float64(time.Second)), false, nil
	}
	if t == "" {
		return 0, false, errors.New("empty time")
	}
	rest := t
	for strings.TrimSpace(rest) != "" {
		m := durationWordRE().FindStringSubmatch(rest)
		if m == nil {
			return 0, false, fmt.Errorf("time %q not understood at %q", s, rest)
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		var unit time.Duration
		switch strings.ToLower(m[2]) {
		case "", "s", "sec", "secs", "second", "seconds":
			unit = time.Second
		case "m", "mi", "min", "mins", "minute", "minutes":
			unit = time.Minute
		case "h", "hour", "hours":
			unit = time.Hour
		case "d", "day", "days", "dd":
			unit = 24 * time.Hour
		case "w", "week", "weeks", "ww":
			unit = 7 * 24 * time.Hour
		case "mo", "mon", "month", "months":
			unit = time.Duration(30.4375 * 24 * float64(time.Hour))
		case "y", "yy", "year", "years":
			unit = time.Duration(365.25 * 24 * float64(time.Hour))
		default:
			return 0, false, fmt.Errorf("time %q: unknown unit %q", s, m[2])
		}
		d += time.Duration(n * float64(unit))
		rest = rest[len(m[0]):]
	}
	return d, false, nil
}

func rel(dir, where string) string {
	if r, err := filepath.Rel(dir, where); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return where
}

func relAll(dir string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = rel(dir, f)
	}
	return out
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

// quoted writes a regular expression single-quoted, so that its
// backslashes stay as they are.
func quoted(s string) *yaml.Node {
	n := scalar(s)
	if !strings.ContainsAny(s, "\n\t") {
		n.Style = yaml.SingleQuotedStyle
	}
	return n
}

func flowSeq(ss ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, s := range ss {
		n.Content = append(n.Content, scalar(s))
	}
	return n
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, scalar(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}
