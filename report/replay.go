package report

import (
	"net/netip"
	"time"
)

// Replay is what `logjail replay` found, ready to print in any format.
// Lists are sorted as they are shown: IPs by failures (most first), bans by
// start, the timeline by time, users by attempts (most first).
type Replay struct {
	// From and To span the failures found (zero when none).
	From, To time.Time
	// Lines counts every line read, Failures every failure kept (inside
	// --from/--to, not of an ignored address).
	Lines, Failures int64
	Files           []ReplayFile
	Jails           []ReplayJail
	IPs             []ReplayIP
	Bans            []ReplayBan
	// Step is the timeline's bucket: an hour or a day, chosen from the span.
	Step     time.Duration
	Timeline []Bucket
	Users    []UserCount
}

// ReplayFile is one input file.
type ReplayFile struct {
	Path       string
	Compressed bool
	Lines      int64
}

// ReplayJail is one jail's totals and the policy it was judged by.
type ReplayJail struct {
	Name      string
	Failures  int64
	Addresses int
	Bans      int
	MaxRetry  int
	FindTime  time.Duration
	// BanTime is the first ban's length; 0 with Permanent.
	BanTime   time.Duration
	Permanent bool
}

// ReplayIP is one attacking address.
type ReplayIP struct {
	Addr        netip.Addr
	Failures    int64
	First, Last time.Time
	Jails       []string
	// Users are the first user names it tried (at most a few).
	Users []string
}

// ReplayBan is a ban the policy would have issued. Until is zero for a
// permanent ban.
type ReplayBan struct {
	Jail         string
	Prefix       netip.Prefix
	Start, Until time.Time
	Offense      int
	Failures     int
}

// Bucket is one step of the timeline.
type Bucket struct {
	Start          time.Time
	Failures, Bans int64
}

// UserCount is how often a user name was tried, and by how many addresses.
type UserCount struct {
	Name      string
	Failures  int64
	Addresses int
}
