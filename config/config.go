package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"
)

// DefaultPath is where logjail looks for its configuration when --config
// and LOGJAIL_CONFIG are not given.
const DefaultPath = "/etc/logjail/logjail.yaml"

// defaultPath is DefaultPath; tests change it.
var defaultPath = DefaultPath

// Firewall backends.
const (
	BackendIPTables = "iptables"
	BackendIPSet    = "ipset"
	BackendNFTables = "nftables"
	BackendNone     = "none"
)

// Block types.
const (
	BlockDrop   = "DROP"
	BlockReject = "REJECT"
)

// Protocols a jail may ban on.
const (
	ProtoTCP = "tcp"
	ProtoUDP = "udp"
)

// Where a log file seen for the first time is read from.
const (
	StartBeginning = "beginning"
	StartEnd       = "end"
)

// STARTTLS policies of the digest's SMTP client.
const (
	// StartTLSAuto upgrades with STARTTLS when the server offers it.
	StartTLSAuto = "auto"
	// StartTLSAlways refuses to send unless STARTTLS succeeds.
	StartTLSAlways = "always"
	// StartTLSNever sends in plain text.
	StartTLSNever = "never"
	// StartTLSImplicit speaks TLS from the first byte (SMTPS, usually
	// port 465); it is written "tls".
	StartTLSImplicit = "tls"
)

// DefaultMaxElem is the default size limit of an ipset or nftables set:
// 2^20 addresses, about 1 million, far above what one host bans and far
// below what a set handles. The kernel's own ipset default, 65536, is low
// enough for a botnet to fill.
const DefaultMaxElem = 1 << 20

// Config is a parsed and validated configuration. Every value is resolved:
// defaults have been applied and every jail carries all its settings.
type Config struct {
	// File is the name the configuration was read under (a path, or
	// DefaultName for the embedded default).
	File string
	// State is the path of the state file.
	State string
	// LockTimeout is how long a run waits for the state lock before it
	// gives up with exit code 3. Zero means do not wait.
	LockTimeout time.Duration
	// History is how long ban history is kept (reports, offense counts).
	History time.Duration
	// MetricsFile is the Prometheus textfile-collector output; "" for none.
	MetricsFile string
	// Firewall says how bans are enforced.
	Firewall Firewall
	// Jails are the configured jails, sorted by name.
	Jails []*Jail
	// Digest says where and how often the digest is mailed.
	Digest Digest
	// Fleet says which fleet the host shares bans with, if any.
	Fleet Fleet
	// Notes say what the embedded default chose on this machine (the
	// journal for sshd, say), for `config check` and `run --verbose`.
	Notes []string
}

// Firewall is the firewall section.
type Firewall struct {
	// Backend is one of BackendIPTables, BackendIPSet, BackendNFTables or
	// BackendNone (bans are recorded but nothing is enforced).
	Backend string
	// BlockType is BlockDrop or BlockReject.
	BlockType string
	// MaxElem is the size limit of an ipset or nftables set
	// (DefaultMaxElem unless set).
	MaxElem int
}

// Digest is the digest section. The digest is sent only when To is not
// empty.
type Digest struct {
	// To are the recipients; From the sender. Both are RFC 5322 addresses.
	To   []string
	From string
	// Every is the least time between two digests.
	Every time.Duration
	// SMTP is the mail server used when Sendmail is "".
	SMTP SMTP
	// Sendmail is a sendmail binary that, when set, is used instead of SMTP.
	Sendmail string
}

// Enabled reports whether a digest is to be sent at all.
func (d *Digest) Enabled() bool { return len(d.To) > 0 }

// SMTP is the digest's mail server.
type SMTP struct {
	Host string
	// Port defaults to 25, or to 465 when StartTLS is StartTLSImplicit.
	Port int
	// StartTLS is one of StartTLSAuto, StartTLSAlways, StartTLSNever,
	// StartTLSImplicit.
	StartTLS string
	// Username, when set, authenticates with the password read from
	// PasswordFile (its first line). Both or neither are set.
	Username     string
	PasswordFile string
}

// Jail returns the jail called name, or nil.
func (c *Config) Jail(name string) *Jail {
	i := sort.Search(len(c.Jails), func(i int) bool { return c.Jails[i].Name >= name })
	if i < len(c.Jails) && c.Jails[i].Name == name {
		return c.Jails[i]
	}
	return nil
}

// Enabled returns the enabled jails, sorted by name.
func (c *Config) Enabled() []*Jail {
	var js []*Jail
	for _, j := range c.Jails {
		if j.Enabled {
			js = append(js, j)
		}
	}
	return js
}

// Select keeps only the named jails (for `replay --jail`), so that Set
// changes only those. Naming a jail that does not exist is an error; no
// names keeps every jail.
func (c *Config) Select(names ...string) error {
	if len(names) == 0 {
		return nil
	}
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		if c.Jail(n) == nil {
			return fmt.Errorf("config %s: no jail %q", c.File, n)
		}
		keep[n] = true
	}
	js := c.Jails[:0:0]
	for _, j := range c.Jails {
		if keep[j.Name] {
			js = append(js, j)
		}
	}
	c.Jails = js
	return nil
}

// Load reads the configuration file at path. When there is no file and
// path is DefaultPath (or ""), it returns Default(): a machine without a
// configuration runs with the embedded default. A missing file anywhere
// else is an error, since naming a file that is not there is a mistake.
// Problems in the file are returned as a *Errors.
func Load(path string) (*Config, error) {
	if path == "" {
		path = defaultPath
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && path == defaultPath {
			return Default(), nil
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}
