package config

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// What a fleet shares.
const (
	// ShareBans shares the bans (and unbans) of the taking-part jails.
	ShareBans = "bans"
	// ShareFailures also counts failures across the fleet: the bans are
	// decided from the fleet's sums over findtime.
	ShareFailures = "failures"
)

// ManualJail names the bans given by hand without --jail; fleet.jails
// may name it.
const ManualJail = "manual"

// Fleet is the fleet section: hosts that share bans, and with
// ShareFailures their failure counts, through one PostgreSQL database.
// The fleet is on when DSN is set.
type Fleet struct {
	// DSN is a libpq connection string or URL, without the password.
	DSN string
	// PasswordFile holds the password (its first line); it is read at
	// connect time and refused when group or others may read it.
	PasswordFile string
	// Host is this host's name in the fleet (the origin of its bans).
	Host string
	// Share is ShareBans or ShareFailures.
	Share string
	// Jails are the jails that take part ("manual" included); empty:
	// every enabled jail and manual.
	Jails []string
	// MaxBans is the most bans one run takes from the fleet.
	MaxBans int
	// Timeout bounds one run's whole exchange with the server.
	Timeout time.Duration
}

// Enabled reports whether the host is part of a fleet.
func (f *Fleet) Enabled() bool { return f.DSN != "" }

// TakesPart reports whether the bans of jail are shared.
func (f *Fleet) TakesPart(jail string) bool {
	return f.Enabled() && (len(f.Jails) == 0 || slices.Contains(f.Jails, jail))
}

var fleetKeys = []string{"dsn", "password_file", "host", "share", "jails", "max_bans", "timeout"}

func (p *parser) fleet(v *yaml.Node, f *Fleet) *yaml.Node {
	kvs, ok := p.mapping("", "fleet", v)
	if !ok {
		return nil
	}
	const where = "fleet."
	var jailsNode *yaml.Node
	for _, kv := range kvs {
		k, v := kv.k, kv.v
		switch k.Value {
		case "dsn":
			if s, ok := p.str(where, k.Value, v); ok {
				if dsnPassword().MatchString(s) || hasURLPassword(s) {
					p.errorf(v, "fleet.dsn must not carry a password (others can read the configuration): put it in fleet.password_file")
				}
				f.DSN = s
			}
		case "password_file":
			if s, ok := p.str(where, k.Value, v); ok {
				f.PasswordFile = p.abs(s)
			}
		case "host":
			if s, ok := p.str(where, k.Value, v); ok {
				if s != "" && !validFleetHost(s) {
					p.errorf(v, "fleet.host %q must be 1 to 63 letters, digits, '.', '-' or '_'", s)
				}
				f.Host = s
			}
		case "share":
			if s, ok := p.word(where, k.Value, v, ShareBans, ShareFailures); ok {
				f.Share = s
			}
		case "jails":
			items, _ := p.list(where, k.Value, v, commaScalar)
			jailsNode = v
			for _, it := range items {
				f.Jails = append(f.Jails, it.s)
			}
		case "max_bans":
			if n, ok := p.integer(where, k.Value, v); ok {
				if n < 1 {
					p.errorf(v, "fleet.max_bans must be at least 1, got %d", n)
				}
				f.MaxBans = n
			}
		case "timeout":
			if d, ok := p.duration(where, k.Value, v); ok {
				if d <= 0 {
					p.errorf(v, "fleet.timeout must be positive, got %q", deref(v).Value)
				}
				f.Timeout = d
			}
		default:
			p.unknown(k, "fleet: ", fleetKeys)
		}
	}
	return jailsNode
}

// checkFleetJails refuses fleet.jails that name no configured jail.
func (p *parser) checkFleetJails(c *Config, n *yaml.Node) {
	for _, name := range c.Fleet.Jails {
		if name != ManualJail && c.Jail(name) == nil {
			p.errorf(n, "fleet.jails: no jail %q (configured: %s, and %s)", name, jailNames(c), ManualJail)
		}
	}
}

func jailNames(c *Config) string {
	var names []string
	for _, j := range c.Jails {
		names = append(names, j.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// hasURLPassword reports a postgres:// URL with user:password@.
func hasURLPassword(s string) bool {
	rest, ok := strings.CutPrefix(s, "postgres://")
	if !ok {
		rest, ok = strings.CutPrefix(s, "postgresql://")
	}
	if !ok {
		return false
	}
	at := strings.IndexByte(rest, '@')
	return at > 0 && strings.Contains(rest[:at], ":")
}

// validFleetHost reports whether s is 1 to 63 letters, digits, '.', '-'
// or '_' (a loop: the regexp's {1,63} cost every command ~850
// allocations at start-up).
func validFleetHost(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// dsnPassword finds a password in a key=value DSN or a URL's query.
// Compiled when a fleet is configured, not at every start.
var dsnPassword = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(^|[\s?&])password\s*=`) })
