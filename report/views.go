package report

import (
	"encoding/json"
	"io"
	"time"
)

// Times in JSON are RFC 3339 with offset; a permanent ban's until is null.

// BanJSON is a ban in `run --dry-run --format json` and `status --format json`.
type BanJSON struct {
	Jail     string  `json:"jail"`
	IP       string  `json:"ip"`
	Start    string  `json:"start"`
	Until    *string `json:"until"`
	Failures int     `json:"failures,omitempty"`
	Offense  int     `json:"offense"`
	// Origin is the fleet host that decided the ban (this host for its
	// own); "" when the host takes part in no fleet.
	Origin string `json:"origin,omitempty"`
}

// UnbanJSON is a lifted ban in `run --dry-run --format json`.
type UnbanJSON struct {
	Jail string `json:"jail"`
	IP   string `json:"ip"`
}

// DryRunJSON is the document `run --dry-run --format json` prints.
type DryRunJSON struct {
	Now    string      `json:"now"`
	Ban    []BanJSON   `json:"ban"`
	Unban  []UnbanJSON `json:"unban"`
	Active int         `json:"active"`
	// Firewall says what the firewall step would change, or why it
	// could not be read.
	Firewall *FirewallJSON `json:"firewall,omitempty"`
}

// FirewallJSON is the firewall part of a dry run.
type FirewallJSON struct {
	Backend string `json:"backend"`
	// Add and Remove are the plan's bans, "jail address": what the run
	// would install and take out, after the guard, de-duplication and
	// folding into covering networks.
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
	// Update are bans whose kernel timeout the run would reset.
	Update []string `json:"update,omitempty"`
	// Refused are held bans the guard keeps out, with why.
	Refused []string `json:"refused,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// FailureJSON is a failure count in progress in `status --format json`.
type FailureJSON struct {
	Jail  string `json:"jail"`
	IP    string `json:"ip"`
	Count int    `json:"count"`
	First string `json:"first"`
	Last  string `json:"last"`
}

// FileJSON is a log file's reading position in `status --format json`.
type FileJSON struct {
	Jail   string `json:"jail"`
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Inode  uint64 `json:"inode"`
}

// StatusJSON is the document `status --format json` prints.
type StatusJSON struct {
	LastRun  *string           `json:"last_run"`
	Bans     []BanJSON         `json:"bans"`
	Failures []FailureJSON     `json:"failures"`
	Files    []FileJSON        `json:"files"`
	Journals []JournalJSON     `json:"journals"`
	Digest   *DigestStatusJSON `json:"digest"`
	// Fleet is the fleet exchange's state; absent without a fleet.
	Fleet *FleetStatusJSON `json:"fleet,omitempty"`
}

// FleetStatusJSON is the fleet's part of `status --format json`.
type FleetStatusJSON struct {
	Host string `json:"host"`
	// LastOK is the run time of the last exchange that succeeded.
	LastOK *string `json:"last_ok"`
	// Failures counts the exchanges that failed in a row since
	// FailingSince, the latest with LastError.
	Failures     int     `json:"failures"`
	FailingSince *string `json:"failing_since"`
	LastError    string  `json:"last_error,omitempty"`
	// Pending counts the changes in the fleet outbox.
	Pending int `json:"pending"`
}

// JournalJSON is one journal source of a jail in `status --format json`:
// the cursor saved and the time of its entry (null when the source was
// read to its end before it had entries), and the totals of entries
// vacuumed before they were read and of messages journald's rate limit
// dropped.
type JournalJSON struct {
	Jail       string  `json:"jail"`
	Source     string  `json:"source"`
	Cursor     string  `json:"cursor"`
	Time       *string `json:"time"`
	Lost       int64   `json:"lost"`
	Suppressed int64   `json:"suppressed"`
}

// DigestStatusJSON is the digest's part of `status --format json`. The
// failure fields are null (failures 0, last_error "") while deliveries
// work.
type DigestStatusJSON struct {
	// Enabled is false without digest.to: nothing is mailed.
	Enabled bool `json:"enabled"`
	// LastSent is when a mail server last accepted a digest.
	LastSent *string `json:"last_sent"`
	// Pending counts the events in the outbox.
	Pending int `json:"pending"`
	// Failures counts the deliveries that failed in a row, since
	// FailingSince; LastFailure is the latest, which failed with
	// LastError.
	Failures     int     `json:"failures"`
	FailingSince *string `json:"failing_since"`
	LastFailure  *string `json:"last_failure"`
	LastError    string  `json:"last_error"`
	// NextTry is when a run tries again (`digest` tries at once).
	NextTry *string `json:"next_try"`
}

// Time formats t as RFC 3339 with offset.
func Time(t time.Time) string { return t.Format(time.RFC3339) }

// Until formats a ban's end; nil (JSON null) for a permanent ban.
func Until(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := Time(t)
	return &s
}

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// FleetViewJSON is the document `status --fleet --format json` prints:
// the fleet's active bans by origin host, and the addresses failing on
// the most hosts.
type FleetViewJSON struct {
	Now   string          `json:"now"`
	Hosts []FleetHostJSON `json:"hosts"`
	// Bans are sorted by origin, jail and address; each carries origin.
	Bans    []BanJSON          `json:"bans"`
	Failing []FleetFailingJSON `json:"failing"`
}

// FleetHostJSON counts one origin host's active bans.
type FleetHostJSON struct {
	Host string `json:"host"`
	Bans int    `json:"bans"`
}

// FleetFailingJSON is an address failing on several hosts inside its
// jail's findtime.
type FleetFailingJSON struct {
	Jail     string `json:"jail"`
	IP       string `json:"ip"`
	Hosts    int    `json:"hosts"`
	Failures int    `json:"failures"`
	// Last is the start of the newest bucket with failures.
	Last string `json:"last"`
}
