package config

import (
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"logjail/analyze"
	"logjail/analyze/journal"
)

// The jail settings as written in one place (the defaults section or one
// jail), before inheritance. Each value remembers its node for messages.

// val is one setting: set when n is not nil; bad when it was written but
// is wrong (already reported, so checks that depend on it are skipped).
type val[T any] struct {
	v   T
	n   *yaml.Node
	bad bool
}

func (o val[T]) set() bool { return o.n != nil }

func put[T any](o *val[T], n *yaml.Node, v T, ok bool) {
	o.n, o.v, o.bad = n, v, !ok
}

// pick returns the jail's value, else the defaults', else def, with the
// node it came from (nil for def).
func pick[T any](j, d val[T], def T) val[T] {
	switch {
	case j.set():
		return j
	case d.set():
		return d
	}
	return val[T]{v: def}
}

type filterSpec struct {
	builtin      string
	missing      bool // a built-in name not compiled in (lenient parse only)
	custom       bool
	fail, ignore []string
	f2b          *analyze.Fail2banSpec // style: fail2ban
}

type banTime struct {
	d         time.Duration
	permanent bool
}

type jailSpec struct {
	broken     bool // not a mapping: reported, the jail is not built
	enabled    val[bool]
	filter     val[filterSpec]
	mode       val[string]
	logpath    val[[]string]
	journal    val[*Journal]
	port       val[[]PortRange]
	protocol   val[string]
	bantime    val[banTime]
	findtime   val[time.Duration]
	maxretry   val[int]
	ignoreip   val[[]netip.Prefix]
	start      val[string]
	banPrefix6 val[int]
	cntPrefix6 val[int]
	incEnabled val[bool]
	incFactor  val[float64]
	incMaxTime val[time.Duration]
}

var jailKeys = []string{"enabled", "filter", "mode", "logpath", "journal", "port", "protocol", "bantime", "findtime",
	"maxretry", "ignoreip", "start", "ban_prefix6", "count_prefix6", "bantime_increment"}

// Built-in defaults of every jail setting that has one.
var (
	defIgnoreIP  = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	defIncrement = Increment{Enabled: false, Factor: 2, MaxTime: Week}
)

const (
	defBanTime    = 10 * time.Minute
	defFindTime   = 10 * time.Minute
	defMaxRetry   = 5
	defBanPrefix6 = 128
	// IPv6 failures also count in their /64: an attacker rotating
	// through its own /64 is banned by it (issue 15).
	defCountPrefix6 = 64
)

// jailSpec reads a jail's (or the defaults') mapping. where prefixes
// messages: `jail "sshd": ` or `defaults: `.
func (p *parser) jailSpec(where string, v *yaml.Node) *jailSpec {
	s := &jailSpec{}
	if isNull(v) {
		return s // "sshd:" alone: a jail with every default
	}
	kvs, ok := p.mapping(where, "", v)
	if !ok {
		s.broken = true
		return s
	}
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		key := k.Value
		switch key {
		case "enabled":
			b, ok := p.boolean(where, key, v)
			put(&s.enabled, v, b, ok)
		case "filter":
			f, ok := p.filter(where, v)
			put(&s.filter, v, f, ok)
		case "mode":
			m, ok := p.str(where, key, v)
			put(&s.mode, v, m, ok)
		case "logpath":
			items, ok := p.list(where, key, v, noSplit)
			var paths []string
			for _, it := range items {
				it.s = p.abs(it.s)
				if err := checkLogPath(it.s); err != nil {
					p.wrapf(it.n, err, "%s%v", where, err)
					ok = false
				}
				paths = append(paths, it.s)
			}
			put(&s.logpath, v, paths, ok)
		case "journal":
			jn, ok := p.journal(where, v)
			put(&s.journal, v, jn, ok)
		case "port":
			ports, ok := p.ports(where, v)
			put(&s.port, v, ports, ok)
		case "protocol":
			pr, ok := p.word(where, key, v, ProtoTCP, ProtoUDP)
			put(&s.protocol, v, pr, ok)
		case "bantime":
			var bt banTime
			txt, ok := p.durationText(where, key, v)
			if ok {
				var err error
				bt.d, bt.permanent, err = ParseBanTime(txt)
				if err == nil && !bt.permanent {
					err = checkBanTime(bt.d)
				}
				if err != nil {
					p.wrapf(v, err, "%sbantime: %v", where, err)
					ok = false
				}
			}
			put(&s.bantime, v, bt, ok)
		case "findtime":
			d, ok := p.duration(where, key, v)
			if ok {
				if err := checkFindTime(d); err != nil {
					p.wrapf(v, err, "%s%v", where, err)
					ok = false
				}
			}
			put(&s.findtime, v, d, ok)
		case "maxretry":
			n, ok := p.integer(where, key, v)
			if ok {
				if err := checkMaxRetry(n); err != nil {
					p.wrapf(v, err, "%s%v", where, err)
					ok = false
				}
			}
			put(&s.maxretry, v, n, ok)
		case "ignoreip":
			items, ok := p.list(where, key, v, words)
			pfxs := []netip.Prefix{}
			for _, it := range items {
				pfx, err := ParseIgnoreIP(it.s)
				if err != nil {
					p.wrapf(it.n, err, "%s%v", where, err)
					ok = false
					continue
				}
				pfxs = appendPrefix(pfxs, pfx)
			}
			put(&s.ignoreip, v, pfxs, ok)
		case "start":
			st, ok := p.word(where, key, v, StartBeginning, StartEnd)
			put(&s.start, v, st, ok)
		case "ban_prefix6":
			n, ok := p.integer(where, key, v)
			if ok {
				if err := checkBanPrefix6(n); err != nil {
					p.wrapf(v, err, "%s%v", where, err)
					ok = false
				}
			}
			put(&s.banPrefix6, v, n, ok)
		case "count_prefix6":
			n, ok := p.integer(where, key, v)
			if ok {
				if err := checkCountPrefix6(n); err != nil {
					p.wrapf(v, err, "%s%v", where, err)
					ok = false
				}
			}
			put(&s.cntPrefix6, v, n, ok)
		case "bantime_increment":
			p.increment(where, v, s)
		default:
			p.unknown(k, where, jailKeys)
		}
	}
	return s
}

func (p *parser) increment(where string, v *yaml.Node, s *jailSpec) {
	kvs, ok := p.mapping(where, "bantime_increment", v)
	if !ok {
		return
	}
	w := where + "bantime_increment."
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "enabled":
			b, ok := p.boolean(w, k.Value, v)
			put(&s.incEnabled, v, b, ok)
		case "factor":
			f, ok := p.float(w, k.Value, v)
			if ok {
				if err := checkFactor(f); err != nil {
					p.wrapf(v, err, "%s%v", where, err)
					ok = false
				}
			}
			put(&s.incFactor, v, f, ok)
		case "maxtime":
			d, ok := p.duration(w, k.Value, v)
			if ok && d <= 0 {
				p.errorf(v, "%sbantime_increment.maxtime must be positive, got %s", where, FormatDuration(d))
				ok = false
			}
			put(&s.incMaxTime, v, d, ok)
		default:
			p.unknown(k, where+"bantime_increment: ", []string{"enabled", "factor", "maxtime"})
		}
	}
}

// filter reads a filter: a built-in name, or {failregex, ignoreregex}.
func (p *parser) filter(where string, v *yaml.Node) (filterSpec, bool) {
	v = deref(v)
	var fs filterSpec
	switch v.Kind {
	case yaml.ScalarNode:
		fs.builtin = v.Value
		if _, ok := analyze.Builtin(v.Value); !ok {
			if p.lenient {
				fs.missing = true
				return fs, true
			}
			p.errorf(v, "%sunknown filter %q (built-in filters: %s; or write a mapping with failregex:)", where, v.Value, builtinNames())
			return fs, false
		}
		return fs, true
	case yaml.MappingNode:
	default:
		p.errorf(v, "%sfilter must be a built-in filter's name or a mapping with failregex:, got %s", where, kindName(v))
		return fs, false
	}
	fs.custom = true
	ok := true
	var failNode *yaml.Node
	kvs, _ := p.mapping(where, "filter", v)
	ok = p.filterStyle(where, kvs, &fs)
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "style", "prefregex", "datepattern", "maxlines":
			ok = p.fail2banKey(where, k, v, &fs) && ok
		case "failregex", "ignoreregex":
			fail := k.Value == "failregex"
			items, lok := p.list(where+"filter.", k.Value, v, noSplit)
			ok = ok && lok
			res := []string{}
			for _, it := range items {
				if fs.f2b != nil {
					res = append(res, it.s)
					continue
				}
				if err := checkRegex(it.s, fail); err != nil {
					p.wrapf(it.n, err, "%sfilter.%s %q: %v", where, k.Value, it.s, err)
					ok = false
				}
				res = append(res, it.s)
			}
			if fail {
				fs.fail, failNode = res, k
			} else {
				fs.ignore = res
			}
		default:
			p.unknown(k, where+"filter: ", []string{"style", "prefregex", "failregex", "ignoreregex", "datepattern", "maxlines"})
			ok = false
		}
	}
	ok = p.fail2banDone(where, v, &fs) && ok
	if len(fs.fail) == 0 && ok {
		n := failNode
		if n == nil {
			n = v
		}
		p.errorf(n, "%sa custom filter needs at least one failregex", where)
		ok = false
	}
	return fs, ok
}

// journal reads journal: {match, directory, files, namespace}.
func (p *parser) journal(where string, v *yaml.Node) (*Journal, bool) {
	jn := &Journal{}
	if isNull(v) {
		return jn, true
	}
	kvs, ok := p.mapping(where, "journal", v)
	if !ok {
		return nil, false
	}
	w := where + "journal."
	var set []string
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "match":
			items, lok := p.list(w, k.Value, v, noSplit)
			ok = ok && lok
			for _, it := range items {
				jn.Match = append(jn.Match, it.s)
			}
			if _, err := journal.ParseMatch(jn.Match); err != nil && lok {
				p.wrapf(v, err, "%s%v", where, err)
				ok = false
			}
		case "directory", "namespace":
			s, sok := p.str(w, k.Value, v)
			ok = ok && sok
			if k.Value == "directory" && s != "" {
				s = p.abs(s)
				if !filepath.IsAbs(s) {
					p.errorf(v, "%sdirectory %q must be an absolute path", w, s)
					ok = false
				}
				jn.Directory = s
			} else if s != "" {
				if strings.ContainsAny(s, "/ ") {
					p.errorf(v, "%snamespace %q: a namespace is a name, without / or spaces", w, s)
					ok = false
				}
				jn.Namespace = s
			}
			if s != "" {
				set = append(set, k.Value)
			}
		case "files":
			items, lok := p.list(w, k.Value, v, noSplit)
			ok = ok && lok
			for _, it := range items {
				f := p.abs(it.s)
				if err := checkLogPath(f); err != nil {
					p.wrapf(it.n, err, "%sfiles: %v", w, err)
					ok = false
				}
				jn.Files = append(jn.Files, f)
			}
			if len(jn.Files) > 0 {
				set = append(set, k.Value)
			}
		default:
			p.unknown(k, where+"journal: ", []string{"match", "directory", "files", "namespace"})
			ok = false
		}
	}
	if len(set) > 1 {
		p.errorf(v, "%sjournal: %s cannot be combined: set one (none reads the local journal)", where, strings.Join(set, " and "))
		ok = false
	}
	return jn, ok
}

// ports reads a port list.
func (p *parser) ports(where string, v *yaml.Node) ([]PortRange, bool) {
	items, ok := p.list(where, "port", v, words)
	var rs []PortRange
	var allNode *yaml.Node
	for _, it := range items {
		r, all, err := parsePortWord(it.s)
		if err != nil {
			p.wrapf(it.n, err, "%sport: %v", where, err)
			ok = false
			continue
		}
		if all {
			allNode = it.n
			continue
		}
		rs = append(rs, r)
	}
	if allNode != nil && len(rs) > 0 {
		p.errorf(allNode, "%sport: %q cannot be combined with other ports", where, AllPorts)
		ok = false
	}
	if len(items) == 0 && ok {
		p.errorf(v, "%sport must not be empty (write %q for every port)", where, AllPorts)
		ok = false
	}
	return normalisePorts(rs), ok
}

// resolve builds jail name from its spec j and the defaults d. It returns
// nil when the jail is dropped (lenient parse, filter not compiled in).
func (p *parser) resolve(key *yaml.Node, j, d *jailSpec, fw *Firewall) *Jail {
	if j.broken || d.broken {
		return nil
	}
	name := key.Value
	where := fmt.Sprintf("jail %q: ", name)
	// at returns where a message about a setting belongs: its own line,
	// or the jail's name when the setting was not written.
	at := func(n *yaml.Node) *yaml.Node {
		if n != nil {
			return n
		}
		return key
	}
	jail := &Jail{Name: name, Line: key.Line}

	jail.Enabled = pick(j.enabled, d.enabled, true).v

	fv := pick(j.filter, d.filter, filterSpec{builtin: name})
	fs := fv.v
	filterOK := !fv.bad
	switch {
	case fv.bad:
	case fs.missing:
		return nil
	case fs.f2b != nil:
		spec := *fs.f2b
		spec.Name, spec.FailRegex, spec.IgnoreRegex = name, fs.fail, fs.ignore
		f, err := analyze.NewFail2banFilter(spec)
		if err != nil {
			for _, e := range unjoin(err) {
				p.wrapf(at(fv.n), e, "%s%v", where, e)
			}
			filterOK = false
			break
		}
		jail.Filter, jail.Fail2ban = f, &spec
		jail.FailRegex, jail.IgnoreRegex = fs.fail, append([]string{}, fs.ignore...)
	case fs.custom:
		f, err := newRegexFilter(name, fs.fail, fs.ignore)
		if err != nil {
			p.wrapf(at(fv.n), err, "%s%v", where, err)
			filterOK = false
			break
		}
		jail.Filter, jail.FailRegex, jail.IgnoreRegex = f, fs.fail, append([]string{}, fs.ignore...)
	default:
		f, ok := analyze.Builtin(fs.builtin)
		if !ok {
			if p.lenient {
				return nil
			}
			// Only an unwritten filter gets here: a written one was checked.
			p.errorf(key, "%sno filter: given, and no built-in filter is called %q (built-in filters: %s)", where, name, builtinNames())
			filterOK = false
			break
		}
		jail.Filter = f
	}

	mv := pick(j.mode, d.mode, "")
	if filterOK && !mv.bad {
		m, err := jail.Filter.CheckMode(mv.v)
		if err != nil {
			p.wrapf(at(mv.n), err, "%smode %q: %v", where, mv.v, err)
		}
		jail.Mode = m
	}

	lv := pick(j.logpath, d.logpath, nil)
	jail.LogPath = lv.v
	jv := pick(j.journal, d.journal, nil)
	if jv.v != nil {
		jn := *jv.v
		jn.Match, jn.Files = cloneSlice(jn.Match), cloneSlice(jn.Files)
		jail.Journal = &jn
		if len(jn.Match) == 0 && filterOK {
			if fs.custom || len(journal.DefaultMatch(jail.Filter.Name)) == 0 {
				p.errorf(at(jv.n), "%sjournal: filter %s has no default journal match: write journal.match, e.g. [_COMM=PROGRAM] (the process name, which a client cannot forge)", where, jail.Filter.Name)
			} else {
				jail.Journal.Match = journal.DefaultMatch(jail.Filter.Name)
			}
		}
	}
	if jail.Enabled && len(jail.LogPath) == 0 && jail.Journal == nil && !lv.bad && !jv.bad {
		p.errorf(at(lv.n), "%sthe jail is enabled but has no logpath or journal", where)
	}

	pv := pick(j.port, d.port, nil)
	jail.Ports = pv.v
	if !pv.bad && (fw.Backend == BackendIPTables || fw.Backend == BackendIPSet) {
		if err := checkMultiport(jail.Ports); err != nil {
			p.wrapf(at(pv.n), err, "%s%v", where, err)
		}
	}

	jail.Protocol = pick(j.protocol, d.protocol, ProtoTCP).v
	bv := pick(j.bantime, d.bantime, banTime{d: defBanTime})
	jail.BanTime, jail.Permanent = bv.v.d, bv.v.permanent
	jail.FindTime = pick(j.findtime, d.findtime, defFindTime).v
	jail.MaxRetry = pick(j.maxretry, d.maxretry, defMaxRetry).v
	jail.IgnoreIP = pick(j.ignoreip, d.ignoreip, defIgnoreIP).v
	jail.IgnoreIP = append([]netip.Prefix{}, jail.IgnoreIP...)
	jail.Start = pick(j.start, d.start, StartBeginning).v
	jail.BanPrefix6 = pick(j.banPrefix6, d.banPrefix6, defBanPrefix6).v
	jail.CountPrefix6 = pick(j.cntPrefix6, d.cntPrefix6, defCountPrefix6).v

	jail.Increment.Enabled = pick(j.incEnabled, d.incEnabled, defIncrement.Enabled).v
	jail.Increment.Factor = pick(j.incFactor, d.incFactor, defIncrement.Factor).v
	mt := pick(j.incMaxTime, d.incMaxTime, defIncrement.MaxTime)
	jail.Increment.MaxTime = mt.v
	if !bv.bad && !mt.bad {
		if err := checkIncrement(jail); err != nil {
			n := mt.n
			if n == nil {
				n = bv.n
			}
			p.wrapf(at(n), err, "%s%v", where, err)
		}
	}
	return jail
}

// Checks shared by Parse and Set. Their messages start with the key.

func checkMaxRetry(n int) error {
	if n < 1 {
		return fmt.Errorf("maxretry must be at least 1, got %d", n)
	}
	return nil
}

func checkFindTime(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("findtime must be positive, got %s", FormatDuration(d))
	}
	return nil
}

func checkBanTime(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("bantime must be positive or %q, got %s", Permanent, FormatDuration(d))
	}
	return nil
}

func checkBanPrefix6(n int) error {
	if n < 1 || n > 128 {
		return fmt.Errorf("ban_prefix6 must be from 1 to 128, got %d", n)
	}
	return nil
}

func checkCountPrefix6(n int) error {
	if n < 1 || n > 128 {
		return fmt.Errorf("count_prefix6 must be from 1 to 128 (128 turns the network rule off), got %d", n)
	}
	return nil
}

func checkFactor(f float64) error {
	if !(f >= 1) || math.IsInf(f, 0) {
		return fmt.Errorf("bantime_increment.factor must be a number of at least 1, got %v", f)
	}
	return nil
}

// checkIncrement checks that an enabled increment can reach bantime.
func checkIncrement(j *Jail) error {
	if j.Increment.Enabled && !j.Permanent && j.Increment.MaxTime < j.BanTime {
		return fmt.Errorf("bantime_increment.maxtime %s is shorter than bantime %s",
			FormatDuration(j.Increment.MaxTime), FormatDuration(j.BanTime))
	}
	return nil
}

func checkMultiport(rs []PortRange) error {
	if n := multiportCount(rs); n > MaxMultiport {
		return fmt.Errorf("port list %s takes %d iptables multiport slots, more than %d (a range takes 2); use ranges or port: all",
			formatPorts(rs), n, MaxMultiport)
	}
	return nil
}

func checkLogPath(s string) error {
	if s == "" {
		return fmt.Errorf("logpath must not be empty")
	}
	if !filepath.IsAbs(s) {
		return fmt.Errorf("logpath %q must be an absolute path (relative paths are taken from the configuration file's directory, which the embedded default has none of)", s)
	}
	if _, err := filepath.Match(s, ""); err != nil {
		return fmt.Errorf("logpath %q is not a valid glob pattern: %w", s, err)
	}
	return nil
}

// ParseIgnoreIP parses an ignoreip entry: an IPv4 or IPv6 address (which
// becomes a /32 or /128) or a CIDR (host bits are cleared). IPv4-mapped
// IPv6 is written as IPv4, as analyze reports such clients. Host names are
// refused: logjail never resolves names.
func ParseIgnoreIP(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("ignoreip %q is not an address or CIDR: %w", s, err)
		}
		if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if analyze.IsHostname([]byte(s)) && strings.IndexFunc(s, unicode.IsLetter) >= 0 {
			return netip.Prefix{}, fmt.Errorf("ignoreip %q is a host name; logjail does no DNS, write an address or CIDR", s)
		}
		return netip.Prefix{}, fmt.Errorf("ignoreip %q is not an address or CIDR: %w", s, err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("ignoreip %q: an address with a zone cannot be matched", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// appendPrefix appends pfx unless it is already in pfxs.
func appendPrefix(pfxs []netip.Prefix, pfx netip.Prefix) []netip.Prefix {
	for _, x := range pfxs {
		if x == pfx {
			return pfxs
		}
	}
	return append(pfxs, pfx)
}
