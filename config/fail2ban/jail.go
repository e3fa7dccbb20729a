package fail2ban

import (
	"fmt"
	"sort"
	"strings"
)

// jailKeys are the options fail2ban's jail reader takes from a jail (and
// [DEFAULT]), besides the filter's; the value is the default fail2ban
// uses when none is written ("" for none).
var jailKeys = []struct{ key, def string }{
	{"enabled", "false"}, {"backend", "auto"}, {"maxretry", ""}, {"maxmatches", ""},
	{"findtime", ""}, {"bantime", ""}, {"bantime.increment", ""}, {"bantime.factor", ""},
	{"bantime.formula", ""}, {"bantime.multipliers", ""}, {"bantime.maxtime", ""},
	{"bantime.rndtime", ""}, {"bantime.overalljails", ""}, {"ignorecommand", ""},
	{"ignoreself", ""}, {"ignoreip", ""}, {"ignorecache", ""}, {"filter", ""},
	{"logtimezone", ""}, {"logencoding", ""}, {"logpath", ""}, {"action", ""},
}

// Version is what %(fail2ban_version)s stands for: the release whose
// configuration language this package reads.
const Version = "1.0.2"

// Jail is one jail of a fail2ban configuration, resolved as fail2ban does.
type Jail struct {
	Name    string
	Enabled bool
	// Values holds the jail's resolved options (jailKeys and the filter
	// options it sets itself), each with where it was written.
	Values map[string]value
	// Port, Protocol, Mode, BanAction: the values its actions are given.
	Extra map[string]value
	// Actions are the jail's actions with their options.
	Actions []Action
	// Filter is the resolved filter; nil when the jail names none.
	Filter     *Filter
	FilterName string
	FilterOpts map[string]string
}

// Get returns the jail's resolved option k.
func (j *Jail) Get(k string) (string, bool) {
	if v, ok := j.Values[k]; ok {
		return v.text, true
	}
	v, ok := j.Extra[k]
	return v.text, ok
}

// Where says where option k came from ("" when it was not written).
func (j *Jail) Where(k string) string {
	v, ok := j.Values[k]
	if !ok {
		v, ok = j.Extra[k]
	}
	if !ok || v.file == "" {
		return ""
	}
	return v.where()
}

// Regexes returns the jail's failregex, ignoreregex, prefregex,
// datepattern, maxlines, journalmatch and usedns: the jail's own value
// where it sets one, the filter's otherwise.
func (j *Jail) Regexes(k string) (value, bool) {
	if v, ok := j.Values[k]; ok {
		return v, true
	}
	if j.Filter != nil {
		v, ok := j.Filter.Values[k]
		return v, ok
	}
	return value{}, false
}

// Action is one action of a jail: name[options].
type Action struct {
	Name string
	Opts map[string]string
	At   string // where the jail's action option was written
}

// Config is a fail2ban configuration directory read and resolved.
type Config struct {
	Dir   string
	Files []string // jail.conf and the files it brought in
	Jails []*Jail  // every jail, enabled or not, in file order
}

// Read reads the fail2ban configuration in dir (jail.conf, jail.d/*.conf,
// jail.local, jail.d/*.local, the paths-*.conf they include, filter.d
// with its .local files) and resolves every enabled jail. Every problem
// found is returned, each naming its file and line; the jails that could
// be resolved are returned beside them.
func Read(dir string) (*Config, []Problem) {
	r := newReader()
	c, files := r.readConf(dir, "jail")
	cfg := &Config{Dir: dir, Files: files}
	// fail2ban's client gives every jail these two.
	c.def.set("fail2ban_version", value{text: Version})
	c.def.set("fail2ban_confpath", value{text: dir})
	if len(files) == 0 {
		return nil, []Problem{{File: dir, Msg: "no jail.conf, jail.local or jail.d/*.conf here: not a fail2ban configuration directory"}}
	}
	var probs []Problem
	for _, name := range c.order {
		if name == "INCLUDES" || strings.HasPrefix(name, "KNOWN/") {
			continue
		}
		j, err := resolveJail(r, c, dir, name)
		if err != nil {
			probs = append(probs, problemOf(err))
			continue
		}
		cfg.Jails = append(cfg.Jails, j)
	}
	// Syntax problems first, in file order.
	all := append(r.probs, probs...)
	sort.SliceStable(all, func(a, b int) bool { return all[a].File == all[b].File && all[a].Line < all[b].Line })
	return cfg, all
}

func problemOf(err error) Problem {
	if p, ok := err.(Problem); ok {
		return p
	}
	// "file:line: msg" as made by value.where.
	s := err.Error()
	if f, rest, ok := strings.Cut(s, ":"); ok {
		var line int
		if n, _ := fmt.Sscanf(rest, "%d:", &line); n == 1 {
			_, msg, _ := strings.Cut(rest, ": ")
			return Problem{File: f, Line: line, Msg: msg}
		}
	}
	return Problem{Msg: s}
}

// pyBool reads a boolean as Python's configparser does.
func pyBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "true", "on":
		return true, true
	case "0", "no", "false", "off":
		return false, true
	}
	return false, false
}

// resolveJail follows fail2ban's jail reader: the first options, the
// filter read with them (its values merged into the jail as known/), then
// every option, and the filter again with them.
func resolveJail(r *reader, c *ini, dir, name string) (*Jail, error) {
	j := &Jail{Name: name, Values: map[string]value{}, Extra: map[string]value{}}
	get := func(k, def string) (value, bool, error) {
		v, ok, err := c.get(name, k, nil)
		if err != nil || ok {
			return v, ok, err
		}
		if def != "" {
			return value{text: def}, true, nil
		}
		return v, false, nil
	}
	first := map[string]value{}
	for _, k := range []struct{ key, def string }{{"enabled", "false"}, {"backend", "auto"}, {"filter", ""}} {
		v, ok, err := get(k.key, k.def)
		if err != nil {
			return nil, err
		}
		if ok || k.key == "filter" {
			first[k.key] = v
		}
	}
	en, ok := pyBool(first["enabled"].text)
	if !ok {
		return nil, fmt.Errorf("%s: jail %s: enabled = %q is not a boolean", first["enabled"].where(), name, first["enabled"].text)
	}
	j.Enabled = en
	if !en {
		return j, nil
	}
	var fr *filterRead
	if fv := first["filter"]; strings.TrimSpace(fv.text) != "" {
		fname, fopts, err := extractOptions(fv.text)
		if err != nil {
			return nil, fmt.Errorf("%s: jail %s: filter: %v", fv.where(), name, err)
		}
		j.FilterName, j.FilterOpts = fname, fopts
		opts := map[string]value{}
		for k, x := range fopts {
			opts[k] = value{text: x, file: fv.file, line: fv.line}
		}
		if fr, err = r.openFilter(dir, fname, opts, first["backend"].text, fv); err != nil {
			return nil, err
		}
		comb, err := fr.resolve(first)
		if err != nil {
			return nil, err
		}
		// The jail may refer to its filter's values as known/NAME.
		js := c.section(name)
		for k, v := range comb {
			if k == "__name__" {
				continue
			}
			js.set("known/"+k, v)
		}
	}
	all := map[string]value{}
	for _, k := range jailKeys {
		v, ok, err := get(k.key, k.def)
		if err != nil {
			return nil, err
		}
		if ok {
			all[k.key] = v
		}
	}
	for _, k := range filterKeys {
		v, ok, err := get(k, "")
		if err != nil {
			return nil, err
		}
		if ok {
			all[k] = v
		}
	}
	j.Values = all
	if fr != nil {
		comb, err := fr.resolve(all)
		if err != nil {
			return nil, err
		}
		f := &Filter{Name: fr.name, Files: fr.files, Values: map[string]value{}}
		for _, k := range filterKeys {
			if v, ok := comb[k]; ok {
				f.Values[k] = v
			}
		}
		j.Filter = f
	}
	// What the jail's actions are given.
	for _, k := range []string{"banaction", "banaction_allports", "mode", "destemail"} {
		if v, ok, err := c.get(name, k, nil); err == nil && ok {
			j.Extra[k] = v
		}
	}
	av := all["action"]
	for _, a := range splitActions(av.text) {
		an, opts, err := extractOptions(a)
		if err != nil {
			return nil, fmt.Errorf("%s: jail %s: action: %v", av.where(), name, err)
		}
		act := Action{Name: an, Opts: opts, At: av.where()}
		if !strings.HasSuffix(an, ".py") {
			ac, files := r.readConf(dir, "action.d/"+an)
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: jail %s: action %q: no action.d/%s.conf", av.where(), name, an, an)
			}
			// Options the action does not get from the jail come from
			// its [Init].
			for _, k := range []string{"port", "protocol", "blocktype"} {
				if _, ok := act.Opts[k]; ok {
					continue
				}
				if v, ok, err := ac.get("Init", k, nil); err == nil && ok {
					act.Opts[k] = v.text
				}
			}
		}
		j.Actions = append(j.Actions, act)
		for _, k := range []string{"port", "protocol"} {
			if _, done := j.Extra[k]; !done {
				if x, ok := act.Opts[k]; ok {
					j.Extra[k] = value{text: x, file: av.file, line: av.line}
				}
			}
		}
	}
	return j, nil
}
