package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// DigestLimits bound what a digest lists, so that a digest that grew
// while mail was down is still one readable mail. Totals always count
// everything.
type DigestLimits struct {
	// Bans is how many new bans are listed, oldest first.
	Bans int
	// Top is how many of the busiest addresses are listed.
	Top int
	// Warnings is how many warnings are listed.
	Warnings int
}

// DefaultDigestLimits are the limits of a digest mail.
var DefaultDigestLimits = DigestLimits{Bans: 50, Top: 10, Warnings: 20}

// digestUsers bounds the user names kept per address.
const digestUsers = 5

// Digest is what one digest mail says: the events of the outbox, summed.
// Build it with NewDigest and the Add methods, in the order of the
// events. Text from logs (user names, warnings) is kept as it came; the
// writers escape it.
type Digest struct {
	// Host is the machine the digest speaks for.
	Host string
	// Now is when the digest is composed; times are shown in its zone.
	Now time.Time
	// Limits bound the lists (DefaultDigestLimits from NewDigest).
	Limits DigestLimits
	// First and Last are the times of the oldest and newest event.
	First, Last time.Time
	// Bans are the new bans in the order they were decided.
	Bans []DigestBan
	// Unbans counts the bans lifted; Failures the failures counted.
	Unbans, Failures int
	// Warnings are new problems, in order.
	Warnings []string
	// Events counts the events added.
	Events int

	jails map[string]*DigestJail
	addrs map[string]*DigestAddr
}

// DigestBan is a new ban.
type DigestBan struct {
	Jail string
	// Addr is the address or network banned, as IP prints it.
	Addr  string
	Start time.Time
	// Until is zero for a permanent ban.
	Until             time.Time
	Offense, Failures int
	// Users are user names tried, as the log wrote them.
	Users []string
	// Manual marks a ban given by hand (logjail ban).
	Manual bool
}

// DigestJail is one jail's totals.
type DigestJail struct {
	Name                   string
	Failures, Bans, Unbans int
}

// DigestAddr is one address's totals over the digest.
type DigestAddr struct {
	Addr           string
	Failures, Bans int
	Jails          []string
	Users          []string
}

// NewDigest starts an empty digest for host, composed at now.
func NewDigest(host string, now time.Time) *Digest {
	return &Digest{Host: host, Now: now, Limits: DefaultDigestLimits,
		jails: map[string]*DigestJail{}, addrs: map[string]*DigestAddr{}}
}

func (d *Digest) event(at time.Time) {
	d.Events++
	if !at.IsZero() && (d.First.IsZero() || at.Before(d.First)) {
		d.First = at
	}
	if at.After(d.Last) {
		d.Last = at
	}
}

func (d *Digest) jail(name string) *DigestJail {
	j := d.jails[name]
	if j == nil {
		j = &DigestJail{Name: name}
		d.jails[name] = j
	}
	return j
}

func (d *Digest) addr(a string) *DigestAddr {
	x := d.addrs[a]
	if x == nil {
		x = &DigestAddr{Addr: a}
		d.addrs[a] = x
	}
	return x
}

// AddBan adds a ban decided at the time at.
func (d *Digest) AddBan(b DigestBan, at time.Time) {
	d.event(at)
	d.Bans = append(d.Bans, b)
	d.jail(b.Jail).Bans++
	a := d.addr(b.Addr)
	a.Bans++
	a.jail(b.Jail)
	a.users(b.Users)
}

// AddUnban adds a ban of jail lifted at the time at.
func (d *Digest) AddUnban(jail string, at time.Time) {
	d.event(at)
	d.Unbans++
	d.jail(jail).Unbans++
}

// AddFailures adds the failures one run counted, per jail.
func (d *Digest) AddFailures(counts map[string]int, at time.Time) {
	d.event(at)
	for jail, n := range counts {
		d.Failures += n
		d.jail(jail).Failures += n
	}
}

// AddOffender adds the failures of one address in one run (part of the
// failures AddFailures counted).
func (d *Digest) AddOffender(jail, addr string, failures int, users []string) {
	a := d.addr(addr)
	a.Failures += failures
	a.jail(jail)
	a.users(users)
}

// AddWarning adds a warning reported at the time at.
func (d *Digest) AddWarning(text string, at time.Time) {
	d.event(at)
	d.Warnings = append(d.Warnings, text)
}

func (a *DigestAddr) jail(name string) {
	if !slices.Contains(a.Jails, name) {
		a.Jails = append(a.Jails, name)
		sort.Strings(a.Jails)
	}
}

func (a *DigestAddr) users(us []string) {
	for _, u := range us {
		if len(a.Users) < digestUsers && !slices.Contains(a.Users, u) {
			a.Users = append(a.Users, u)
		}
	}
}

// Empty reports a digest without events: nothing to send.
func (d *Digest) Empty() bool { return d.Events == 0 }

// Jails returns every jail's totals, by name.
func (d *Digest) Jails() []DigestJail {
	out := make([]DigestJail, 0, len(d.jails))
	for _, j := range d.jails {
		out = append(out, *j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

// Top returns every address that failed, busiest first: by failures,
// then bans, then address.
func (d *Digest) Top() []DigestAddr {
	out := make([]DigestAddr, 0, len(d.addrs))
	for _, a := range d.addrs {
		if a.Failures > 0 {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, k int) bool {
		a, b := out[i], out[k]
		if a.Failures != b.Failures {
			return a.Failures > b.Failures
		}
		if a.Bans != b.Bans {
			return a.Bans > b.Bans
		}
		return a.Addr < b.Addr
	})
	return out
}

// Subject is the mail's subject: the host and the counts. The host name
// is stripped of anything but printable characters, so that it cannot
// start a header of its own.
func (d *Digest) Subject() string {
	return fmt.Sprintf("logjail on %s: %s", digestHeaderText(d.Host), d.counts())
}

// counts says how many bans, unbans, failures and warnings the digest
// holds.
func (d *Digest) counts() string {
	parts := []string{Count(len(d.Bans), "new ban", "new bans"), Count(d.Unbans, "unban", "unbans"),
		Count(d.Failures, "failure", "failures")}
	if len(d.Warnings) > 0 {
		parts = append(parts, Count(len(d.Warnings), "warning", "warnings"))
	}
	return strings.Join(parts, ", ")
}

// Count says how many: Count(1, "event", "events") is "1 event",
// Count(2, ...) "2 events".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// listed returns how many of n items a limit lets through.
func digestListed(n, limit int) int {
	if limit > 0 && n > limit {
		return limit
	}
	return n
}
