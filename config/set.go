package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// SetKeys are the keys Set accepts.
var SetKeys = []string{"maxretry", "findtime", "bantime", "ignoreip", "mode", "ban_prefix6", "count_prefix6",
	"bantime_increment.enabled", "bantime_increment.factor", "bantime_increment.maxtime"}

// Set changes one policy value in every jail of c.Jails, for `replay --set
// KEY=VALUE` what-ifs; call Select first to restrict it to some jails.
// Values are written as in the file: maxretry=3, findtime=1h,
// bantime=permanent, ignoreip=10.0.0.0/8,192.0.2.1 (replaces the list; ""
// empties it), mode=aggressive. Set changes nothing unless the value is
// valid for every jail; the error names the key, the value and the jail.
func (c *Config) Set(key, value string) error {
	fail := func(err error) error { return fmt.Errorf("set %s=%s: %w", key, value, err) }
	var apply func(j *Jail) error
	switch key {
	case "maxretry":
		n, err := strconv.Atoi(value)
		if err != nil {
			return fail(fmt.Errorf("maxretry must be a whole number"))
		}
		if err := checkMaxRetry(n); err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.MaxRetry = n; return nil }
	case "findtime":
		d, err := ParseDuration(value)
		if err == nil {
			err = checkFindTime(d)
		}
		if err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.FindTime = d; return nil }
	case "bantime":
		d, perm, err := ParseBanTime(value)
		if err == nil && !perm {
			err = checkBanTime(d)
		}
		if err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.BanTime, j.Permanent = d, perm; return nil }
	case "ignoreip":
		pfxs := []netip.Prefix{}
		for _, w := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			pfx, err := ParseIgnoreIP(w)
			if err != nil {
				return fail(err)
			}
			pfxs = appendPrefix(pfxs, pfx)
		}
		apply = func(j *Jail) error { j.IgnoreIP = append([]netip.Prefix{}, pfxs...); return nil }
	case "mode":
		apply = func(j *Jail) error {
			m, err := j.Filter.CheckMode(value)
			j.Mode = m
			return err
		}
	case "ban_prefix6":
		n, err := strconv.Atoi(value)
		if err != nil {
			return fail(fmt.Errorf("ban_prefix6 must be a whole number"))
		}
		if err := checkBanPrefix6(n); err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.BanPrefix6 = n; return nil }
	case "count_prefix6":
		n, err := strconv.Atoi(value)
		if err != nil {
			return fail(fmt.Errorf("count_prefix6 must be a whole number"))
		}
		if err := checkCountPrefix6(n); err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.CountPrefix6 = n; return nil }
	case "bantime_increment.enabled":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fail(fmt.Errorf("bantime_increment.enabled must be true or false"))
		}
		apply = func(j *Jail) error { j.Increment.Enabled = b; return nil }
	case "bantime_increment.factor":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fail(fmt.Errorf("bantime_increment.factor must be a number"))
		}
		if err := checkFactor(f); err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.Increment.Factor = f; return nil }
	case "bantime_increment.maxtime":
		d, err := ParseDuration(value)
		if err == nil && d <= 0 {
			err = fmt.Errorf("bantime_increment.maxtime must be positive, got %s", FormatDuration(d))
		}
		if err != nil {
			return fail(err)
		}
		apply = func(j *Jail) error { j.Increment.MaxTime = d; return nil }
	default:
		return fmt.Errorf("set %s=%s: unknown key %q (keys: %s)", key, value, key, strings.Join(SetKeys, ", "))
	}
	changed := make([]*Jail, len(c.Jails))
	for i, j := range c.Jails {
		n := j.clone()
		err := apply(n)
		if err == nil {
			err = checkIncrement(n)
		}
		if err != nil {
			return fail(fmt.Errorf("jail %q: %w", j.Name, err))
		}
		changed[i] = n
	}
	for i, j := range c.Jails {
		*j = *changed[i]
	}
	return nil
}
