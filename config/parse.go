package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/mail"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Parse reads a configuration from r. name is the file name errors are
// reported against. Every problem found is reported, each with its line,
// in one *Errors; on error the returned Config is nil.
func Parse(r io.Reader, name string) (*Config, error) {
	p := &parser{file: name}
	if name != DefaultName && name != "" {
		// Relative paths in a file are taken from the file's directory,
		// not from wherever cron happens to start logjail.
		if abs, err := filepath.Abs(filepath.Dir(name)); err == nil {
			p.base = abs
		}
	}
	c := p.parse(r)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		errs := p.errs
		return nil, &errs
	}
	return c, nil
}

// parser collects the problems of one file.
type parser struct {
	base string // directory relative paths are taken from; "" refuses them
	file string
	errs Errors
	// lenient drops jails whose built-in filter is not compiled in,
	// instead of reporting them. Only the embedded default uses it.
	lenient bool
	// memo holds the entries of each mapping read; merging the mappings
	// whose entries are being read (see pairs).
	memo    map[*yaml.Node][]pair
	merging map[*yaml.Node]bool
	// lines is the number of lines of the input.
	lines int
}

// lineCount counts lines as YAML does: \r\n, \r, \n, U+0085, U+2028 and
// U+2029 each end one.
func lineCount(b []byte) int {
	n := 1
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\n':
			n++
		case b[i] == '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				n++
			}
		case b[i] == 0xC2 && i+1 < len(b) && b[i+1] == 0x85: // U+0085
			n++
		case b[i] == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9):
			n++
		}
	}
	return n
}

// yamlLine finds the line in yaml.v3's syntax errors ("yaml: line 3: ...");
// compiled on the first syntax error, not at every start.
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func (p *parser) parse(r io.Reader) *Config {
	src, err := io.ReadAll(r)
	if err != nil {
		p.errs = append(p.errs, &Error{File: p.file, Msg: fmt.Sprintf("read: %v", err), Err: err})
		return nil
	}
	p.lines = lineCount(src)
	c := &Config{
		File:        p.file,
		State:       "/var/lib/logjail/state.db",
		LockTimeout: 30 * time.Second,
		History:     30 * Day,
		Firewall: Firewall{
			Backend:   BackendIPTables,
			BlockType: BlockDrop,
			MaxElem:   DefaultMaxElem,
		},
		Digest: Digest{
			Every: time.Hour,
			SMTP:  SMTP{Host: "localhost", Port: 25, StartTLS: StartTLSAuto},
		},
		Fleet: Fleet{Share: ShareBans, MaxBans: 10000, Timeout: 5 * time.Second},
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c // an empty file: every default, no jails
		}
		p.syntax(err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "a second YAML document (---) is not allowed")
	} else if !errors.Is(err, io.EOF) {
		p.syntax(err)
	}
	if len(doc.Content) == 0 {
		return c
	}
	root := deref(doc.Content[0])
	if isNull(root) {
		return c
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "the configuration must be a mapping of keys (state:, jails:, ...), got %s", kindName(root))
		return nil
	}
	var defaults jailSpec
	type jailNode struct {
		spec *jailSpec
		key  *yaml.Node
	}
	var jails []jailNode
	var fleetJails *yaml.Node
	for _, kv := range p.pairs(root, "") {
		k, v := kv.k, kv.v
		if isNull(v) {
			continue
		}
		switch k.Value {
		case "state":
			if s, ok := p.str("", "state", v); ok {
				if s == "" {
					p.errorf(v, "state must not be empty")
				}
				c.State = p.abs(s)
			}
		case "lock_timeout":
			if d, ok := p.duration("", "lock_timeout", v); ok {
				if d < 0 {
					p.errorf(v, "lock_timeout must not be negative, got %q", v.Value)
				}
				c.LockTimeout = d
			}
		case "history":
			if d, ok := p.duration("", "history", v); ok {
				if d <= 0 {
					p.errorf(v, "history must be positive, got %q", v.Value)
				}
				c.History = d
			}
		case "metrics_file":
			if s, ok := p.str("", "metrics_file", v); ok {
				c.MetricsFile = s
			}
		case "firewall":
			p.firewall(v, &c.Firewall)
		case "digest":
			p.digest(v, &c.Digest)
		case "fleet":
			fleetJails = p.fleet(v, &c.Fleet)
		case "defaults":
			defaults = *p.jailSpec("defaults: ", v)
		case "jails":
			v = deref(v)
			if v.Kind != yaml.MappingNode {
				p.errorf(v, "jails must be a mapping of jail names to jails, got %s", kindName(v))
				continue
			}
			for _, jkv := range p.pairs(v, "jails: ") {
				name := jkv.k.Value
				if !validJailName(name) {
					p.errorf(jkv.k, "jail name %q must be 1 to 20 letters, digits, '-' or '_' (it names the firewall chain logjail-%s)", name, name)
					continue
				}
				spec := p.jailSpec(fmt.Sprintf("jail %q: ", name), jkv.v)
				jails = append(jails, jailNode{spec, jkv.k})
			}
		default:
			p.unknown(k, "", topKeys)
		}
	}
	for _, jn := range jails {
		if j := p.resolve(jn.key, jn.spec, &defaults, &c.Firewall); j != nil {
			c.Jails = append(c.Jails, j)
		}
	}
	sort.Slice(c.Jails, func(i, j int) bool { return c.Jails[i].Name < c.Jails[j].Name })
	p.checkFleetJails(c, fleetJails)
	return c
}

var topKeys = []string{"state", "lock_timeout", "history", "metrics_file", "firewall", "defaults", "jails", "digest", "fleet"}

// validJailName reports whether name is what a jail may be called: 1 to
// 20 letters, digits, '-' or '_' ("logjail-" + name must fit iptables'
// 28-byte chain names). A loop, not a regexp compiled at every start.
func validJailName(name string) bool {
	if name == "" || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// syntax reports a YAML syntax error.
func (p *parser) syntax(err error) {
	msg := err.Error()
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		// At the end of the input yaml.v3 may name the line after the last.
		line = min(line, p.lines)
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "yaml: " + m[2], Err: err})
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Msg: msg, Err: err})
}

// errorf reports a problem at node n.
func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.wrapf(n, nil, format, args...)
}

// wrapf reports a problem at node n caused by err.
func (p *parser) wrapf(n *yaml.Node, err error, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...), Err: err})
}

// unknown reports an unknown key.
func (p *parser) unknown(k *yaml.Node, where string, known []string) {
	p.errorf(k, "%sunknown key %q (known keys: %s)", where, k.Value, strings.Join(known, ", "))
}

// deref follows aliases (*name) to their anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or the YAML null (~, null, nothing).
// A key with a null value counts as not set.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindName describes what n is, for messages.
func kindName(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return fmt.Sprintf("the number %s", n.Value)
		case "!!bool":
			return fmt.Sprintf("the boolean %s", n.Value)
		case "!!null":
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

type pair struct{ k, v *yaml.Node }

// pairs returns the entries of mapping n, with YAML merge keys (<<: *x)
// expanded (the mapping's own keys win) and repeated keys reported.
func (p *parser) pairs(n *yaml.Node, where string) []pair {
	n = deref(n)
	// An alias lets a mapping merge itself, and merges of merges could
	// take exponential time: remember each mapping's entries, and refuse
	// a mapping that merges one of the mappings that contain it.
	if kv, done := p.memo[n]; done {
		return kv
	}
	if p.merging[n] {
		p.errorf(n, "%s<< merges a mapping into itself", where)
		return nil
	}
	if p.memo == nil {
		p.memo, p.merging = map[*yaml.Node][]pair{}, map[*yaml.Node]bool{}
	}
	p.merging[n] = true
	defer delete(p.merging, n)
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%skeys must be plain words, got %s", where, kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, p.mergeSources(v, where)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "%skey %q repeated (first on line %d)", where, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		own = append(own, pair{k, v})
	}
	for _, kv := range merged {
		if _, dup := seen[kv.k.Value]; !dup {
			seen[kv.k.Value] = kv.k
			own = append(own, kv)
		}
	}
	p.memo[n] = own
	return own
}

// mergeSources returns the entries a merge key brings in: of one mapping,
// or of a list of mappings where earlier ones win.
func (p *parser) mergeSources(v *yaml.Node, where string) []pair {
	v = deref(v)
	switch v.Kind {
	case yaml.MappingNode:
		return p.pairs(v, where)
	case yaml.SequenceNode:
		var out []pair
		seen := map[string]bool{}
		for _, m := range v.Content {
			if deref(m).Kind != yaml.MappingNode {
				p.errorf(m, "%s<< must merge mappings, got %s", where, kindName(m))
				continue
			}
			for _, kv := range p.pairs(m, where) {
				if !seen[kv.k.Value] {
					seen[kv.k.Value] = true
					out = append(out, kv)
				}
			}
		}
		return out
	}
	p.errorf(v, "%s<< must merge a mapping, got %s", where, kindName(v))
	return nil
}

// mapping checks that v is a mapping and returns its entries with null
// values left out.
// where prefixes messages, key is the mapping's own key ("" for a jail):
// messages about its entries start with where + key + ": ".
func (p *parser) mapping(where, key string, v *yaml.Node) ([]pair, bool) {
	v = deref(v)
	if v.Kind != yaml.MappingNode {
		if key == "" {
			p.errorf(v, "%smust be a mapping, got %s", where, kindName(v))
		} else {
			p.errorf(v, "%s%s must be a mapping, got %s", where, key, kindName(v))
		}
		return nil, false
	}
	ctx := where
	if key != "" {
		ctx = where + key + ": "
	}
	var out []pair
	for _, kv := range p.pairs(v, ctx) {
		if !isNull(kv.v) {
			out = append(out, kv)
		}
	}
	return out, true
}

// scalar checks that v is a single value (not a list or mapping).
func (p *parser) scalar(where, key string, v *yaml.Node) (*yaml.Node, bool) {
	v = deref(v)
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, "%s%s must be a single value, got %s", where, key, kindName(v))
		return v, false
	}
	return v, true
}

func (p *parser) str(where, key string, v *yaml.Node) (string, bool) {
	v, ok := p.scalar(where, key, v)
	if !ok {
		return "", false
	}
	return v.Value, true
}

// word reads a string that must be one of choices.
func (p *parser) word(where, key string, v *yaml.Node, choices ...string) (string, bool) {
	s, ok := p.str(where, key, v)
	if !ok {
		return "", false
	}
	for _, c := range choices {
		if s == c {
			return s, true
		}
	}
	p.errorf(v, "%s%s must be %s, got %q", where, key, strings.Join(choices, " or "), s)
	return "", false
}

func (p *parser) boolean(where, key string, v *yaml.Node) (bool, bool) {
	v, ok := p.scalar(where, key, v)
	if !ok {
		return false, false
	}
	var b bool
	if v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		p.errorf(v, "%s%s must be true or false, got %s", where, key, kindName(v))
		return false, false
	}
	return b, true
}

func (p *parser) integer(where, key string, v *yaml.Node) (int, bool) {
	v, ok := p.scalar(where, key, v)
	if !ok {
		return 0, false
	}
	var i int
	if v.ShortTag() != "!!int" || v.Decode(&i) != nil {
		p.errorf(v, "%s%s must be a whole number, got %s", where, key, kindName(v))
		return 0, false
	}
	return i, true
}

func (p *parser) float(where, key string, v *yaml.Node) (float64, bool) {
	v, ok := p.scalar(where, key, v)
	if !ok {
		return 0, false
	}
	var f float64
	if t := v.ShortTag(); t != "!!int" && t != "!!float" || v.Decode(&f) != nil {
		p.errorf(v, "%s%s must be a number, got %s", where, key, kindName(v))
		return 0, false
	}
	return f, true
}

// durationText checks that v is a duration written as text: a YAML number
// has no unit and is refused with a hint.
func (p *parser) durationText(where, key string, v *yaml.Node) (string, bool) {
	v, ok := p.scalar(where, key, v)
	if !ok {
		return "", false
	}
	if t := v.ShortTag(); t == "!!int" || t == "!!float" {
		p.errorf(v, "%s%s: %s has no unit; write %ss (units: w, d, h, m, s)", where, key, v.Value, v.Value)
		return "", false
	}
	return v.Value, true
}

func (p *parser) duration(where, key string, v *yaml.Node) (time.Duration, bool) {
	s, ok := p.durationText(where, key, v)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.wrapf(v, err, "%s%s: %v", where, key, err)
		return 0, false
	}
	return d, true
}

type item struct {
	s string
	n *yaml.Node
}

// How list splits strings.
type splitMode int

const (
	noSplit     splitMode = iota // every string is one entry
	commaScalar                  // one string (not a list) is split at commas
	words                        // every string is split at commas and spaces
)

// list reads a list: a YAML list, or one string, split as mode says.
func (p *parser) list(where, key string, v *yaml.Node, mode splitMode) ([]item, bool) {
	v = deref(v)
	var nodes []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{v}
	case yaml.SequenceNode:
		nodes = v.Content
	default:
		p.errorf(v, "%s%s must be a list, got %s", where, key, kindName(v))
		return nil, false
	}
	items := []item{}
	ok := true
	for _, n := range nodes {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || isNull(n) {
			p.errorf(n, "%s%s: each entry must be a single value, got %s", where, key, kindName(n))
			ok = false
			continue
		}
		var parts []string
		switch {
		case mode == words:
			parts = strings.FieldsFunc(n.Value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		case mode == commaScalar && v.Kind == yaml.ScalarNode:
			for _, w := range strings.Split(n.Value, ",") {
				if w = strings.TrimSpace(w); w != "" {
					parts = append(parts, w)
				}
			}
		default:
			parts = []string{n.Value}
		}
		for _, w := range parts {
			items = append(items, item{w, n})
		}
	}
	return items, ok
}

func (p *parser) firewall(v *yaml.Node, fw *Firewall) {
	kvs, ok := p.mapping("", "firewall", v)
	if !ok {
		return
	}
	const where = "firewall."
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "backend":
			if s, ok := p.word(where, k.Value, v, BackendIPTables, BackendIPSet, BackendNFTables, BackendNone); ok {
				fw.Backend = s
			}
		case "blocktype":
			if s, ok := p.word(where, k.Value, v, BlockDrop, BlockReject); ok {
				fw.BlockType = s
			}
		case "maxelem":
			if n, ok := p.integer(where, k.Value, v); ok {
				if n < 1 || n > math.MaxInt32 {
					p.errorf(v, "firewall.maxelem must be from 1 to %d, got %d", math.MaxInt32, n)
				}
				fw.MaxElem = n
			}
		default:
			p.unknown(k, "firewall: ", []string{"backend", "blocktype", "maxelem"})
		}
	}
}

func (p *parser) digest(v *yaml.Node, d *Digest) {
	kvs, ok := p.mapping("", "digest", v)
	if !ok {
		return
	}
	const where = "digest."
	var toNode *yaml.Node
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "to":
			items, _ := p.list(where, k.Value, v, commaScalar)
			toNode = v
			for _, it := range items {
				if _, err := mail.ParseAddress(it.s); err != nil {
					p.wrapf(it.n, err, "digest.to: bad mail address %q: %v", it.s, err)
					continue
				}
				d.To = append(d.To, it.s)
			}
		case "from":
			if s, ok := p.str(where, k.Value, v); ok {
				if _, err := mail.ParseAddress(s); s != "" && err != nil {
					p.wrapf(v, err, "digest.from: bad mail address %q: %v", s, err)
				}
				d.From = s
			}
		case "every":
			if e, ok := p.duration(where, k.Value, v); ok {
				if e <= 0 {
					p.errorf(v, "digest.every must be positive, got %q", deref(v).Value)
				}
				d.Every = e
			}
		case "smtp":
			p.smtp(v, &d.SMTP)
		case "sendmail":
			if s, ok := p.str(where, k.Value, v); ok {
				if s != "" && !filepath.IsAbs(s) {
					// cron's PATH is short: name the program itself.
					p.errorf(v, "digest.sendmail must be an absolute path (/usr/sbin/sendmail), got %q", s)
				}
				d.Sendmail = s
			}
		default:
			p.unknown(k, "digest: ", []string{"to", "from", "every", "smtp", "sendmail"})
		}
	}
	if len(d.To) > 0 && d.From == "" {
		p.errorf(toNode, "digest.from is needed when digest.to is set")
	}
}

func (p *parser) smtp(v *yaml.Node, s *SMTP) {
	kvs, ok := p.mapping("digest.", "smtp", v)
	if !ok {
		return
	}
	const where = "digest.smtp."
	portSet := false
	var userNode, passNode *yaml.Node
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "host":
			if h, ok := p.str(where, k.Value, v); ok {
				if h == "" {
					p.errorf(v, "digest.smtp.host must not be empty")
				}
				s.Host = h
			}
		case "port":
			if n, ok := p.integer(where, k.Value, v); ok {
				if n < 1 || n > 65535 {
					p.errorf(v, "digest.smtp.port must be from 1 to 65535, got %d", n)
				}
				s.Port = n
				portSet = true
			}
		case "starttls":
			if t, ok := p.word(where, k.Value, v, StartTLSAuto, StartTLSAlways, StartTLSNever, StartTLSImplicit); ok {
				s.StartTLS = t
			}
		case "username":
			if u, ok := p.str(where, k.Value, v); ok {
				s.Username = u
				userNode = v
			}
		case "password_file":
			if f, ok := p.str(where, k.Value, v); ok {
				s.PasswordFile = p.abs(f)
				passNode = v
			}
		default:
			p.unknown(k, "digest.smtp: ", []string{"host", "port", "starttls", "username", "password_file"})
		}
	}
	if s.StartTLS == StartTLSImplicit && !portSet {
		s.Port = 465
	}
	switch {
	case s.Username != "" && s.PasswordFile == "":
		p.errorf(userNode, "digest.smtp.username %q needs a password_file", s.Username)
	case s.Username == "" && s.PasswordFile != "":
		p.errorf(passNode, "digest.smtp.password_file %q needs a username", s.PasswordFile)
	}
}

// abs makes a relative path absolute from the file's directory.
func (p *parser) abs(s string) string {
	if s == "" || filepath.IsAbs(s) || p.base == "" {
		return s
	}
	return filepath.Join(p.base, s)
}
