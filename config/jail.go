package config

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"time"

	"logjail/analyze"
)

// Jail is one jail with every setting resolved (its own, else the
// defaults section's, else logjail's).
type Jail struct {
	// Name is the jail's name, [A-Za-z0-9_-]{1,20}: the firewall chain
	// is called "logjail-" + Name.
	Name string
	// Line is the line of the jail's name in the file (0 if unknown).
	Line int
	// Enabled jails are read by `run`. A jail is enabled unless it says
	// enabled: false.
	Enabled bool
	// Filter recognises the jail's failures; Mode is the mode checked
	// against it ("" for a filter without modes).
	Filter *analyze.Filter
	Mode   string
	// FailRegex and IgnoreRegex are the rules of a custom filter, as
	// written (not nil, maybe empty); both are nil for a built-in filter.
	FailRegex   []string
	IgnoreRegex []string
	// Fail2ban is the filter mapping of style: fail2ban (its FailRegex and
	// IgnoreRegex are the two fields above); nil otherwise.
	Fail2ban *analyze.Fail2banSpec
	// LogPath are the log files, as absolute paths or glob patterns; see
	// Files.
	LogPath []string
	// Journal, when set, is the systemd journal the jail reads, beside
	// or instead of LogPath.
	Journal *Journal
	// Ports are the ports a ban blocks, normalised (sorted, merged); nil
	// means every port. See PortSpec.
	Ports []PortRange
	// Protocol is ProtoTCP or ProtoUDP.
	Protocol string
	// BanTime is how long a first ban lasts, unless Permanent. Use
	// BanDuration rather than these two fields.
	BanTime   time.Duration
	Permanent bool
	// FindTime is the window in which MaxRetry failures cause a ban.
	FindTime time.Duration
	MaxRetry int
	// IgnoreIP are never banned by this jail. A jail's ignoreip replaces
	// the defaults' list, it does not add to it.
	IgnoreIP []netip.Prefix
	// Start is StartBeginning or StartEnd: where a log file seen for the
	// first time is read from.
	Start string
	// BanPrefix6 is the prefix length an IPv6 ban covers (128 for one
	// address, 64 for a whole /64).
	BanPrefix6 int
	// CountPrefix6 is the IPv6 network failures also count in: when
	// the network holds MaxRetry failures inside FindTime, from any of
	// its addresses, the whole network is banned. It takes effect when
	// shorter than BanPrefix6 (128 turns it off), and never bans a
	// network holding an ignored address or one of the machine's own.
	CountPrefix6 int
	// Increment lengthens the bans of repeat offenders.
	Increment Increment
}

// Journal is a jail's journal: key. At most one of Directory, Files and
// Namespace is set; none reads the local journal.
type Journal struct {
	// Match are journalctl match terms: as written, else the filter's
	// own (see journal.DefaultMatch).
	Match []string
	// Directory is read like journalctl --directory.
	Directory string
	// Files are journal files, absolute paths or glob patterns.
	Files []string
	// Namespace is a journal namespace (journalctl --namespace).
	Namespace string
}

// Increment is bantime_increment: the n-th ban of an address lasts
// min(bantime * Factor^(n-1), MaxTime).
type Increment struct {
	Enabled bool
	Factor  float64
	MaxTime time.Duration
}

// BanDuration returns how long the offense-th ban (1 for the first) of an
// address in the jail lasts: bantime, or with bantime_increment
// min(bantime * factor^(offense-1), maxtime). permanent is true, and d
// zero, when the jail's bantime is permanent. Overflow gives maxtime.
func (j *Jail) BanDuration(offense int) (d time.Duration, permanent bool) {
	if j.Permanent {
		return 0, true
	}
	if !j.Increment.Enabled {
		return j.BanTime, false
	}
	if offense < 1 {
		offense = 1
	}
	max := j.Increment.MaxTime
	f := float64(j.BanTime) * math.Pow(j.Increment.Factor, float64(offense-1))
	if math.IsNaN(f) || f >= float64(max) {
		return max, false
	}
	return time.Duration(math.Round(f)), false
}

// PortSpec returns the jail's ports in iptables multiport syntax
// ("22,80:90"), or "" when the jail bans every port. Parse makes sure that
// with the iptables and ipset backends the list fits one multiport match
// (MaxMultiport).
func (j *Jail) PortSpec() string { return formatPorts(j.Ports) }

// AllPorts reports whether a ban blocks every port.
func (j *Jail) AllPorts() bool { return len(j.Ports) == 0 }

// Ignores reports whether a is in the jail's ignoreip.
func (j *Jail) Ignores(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range j.IgnoreIP {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Files expands the jail's logpath now: every existing file a pattern
// matches (directories left out), sorted and without duplicates. A pattern that matches nothing,
// such as the path of a log that does not exist on this machine, adds
// nothing. Patterns are checked by Parse, so an error is unlikely.
func (j *Jail) Files() ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, p := range j.LogPath {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("jail %q: logpath %q: %w", j.Name, p, err)
		}
		for _, f := range m {
			if fi, err := os.Stat(f); err == nil && fi.IsDir() {
				continue // /var/log/* also matches /var/log/apt
			}
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// clone returns a copy of j that shares no slices with it.
func (j *Jail) clone() *Jail {
	c := *j
	c.FailRegex = cloneSlice(j.FailRegex)
	c.IgnoreRegex = cloneSlice(j.IgnoreRegex)
	c.LogPath = cloneSlice(j.LogPath)
	if j.Journal != nil {
		jc := *j.Journal
		jc.Match, jc.Files = cloneSlice(jc.Match), cloneSlice(jc.Files)
		c.Journal = &jc
	}
	c.Ports = cloneSlice(j.Ports)
	c.IgnoreIP = cloneSlice(j.IgnoreIP)
	return &c
}

// cloneSlice copies s, keeping nil nil and empty empty.
func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}
