package fleet

import (
	"net/netip"
	"time"

	"logjail/state"
)

// Bucket is the width of the failure counts' time buckets: fine enough
// beside findtime (minutes), coarse enough that an attack is a few rows.
const Bucket = 10 * time.Second

// BucketOf returns the bucket (Unix seconds of its start) of t.
func BucketOf(t time.Time) int64 {
	s := int64(Bucket / time.Second)
	u := t.Unix()
	return u - ((u%s)+s)%s
}

// Counting is a jail whose failures the fleet counts.
type Counting struct {
	Jail     string
	FindTime time.Duration
	MaxRetry int
}

// Request is one run's exchange.
type Request struct {
	// Now is the run's time: which bans are active, which buckets count.
	// The database's clock is never used.
	Now time.Time
	// Send is the outbox to send (state.Tx.FleetEntries).
	Send []state.FleetEntry
	// Cursor is how far the fleet's changes were read.
	Cursor state.FleetCursor
	// Jails are the jails whose bans and unbans are read.
	Jails []string
	// MaxBans bounds the bans read; the rest come in the next runs.
	MaxBans int
	// Counting are the jails whose fleet failure counts are read
	// (share: failures).
	Counting []Counting
	// Keep is how long this host's failure counts are kept on the
	// server (the longest findtime, twice).
	Keep time.Duration
	// SendOnly sends and reads nothing (ban and unban by hand): the
	// cursor is left for the next run.
	SendOnly bool
}

// Unban is an unban from the fleet: bans of Jail and Prefix that started
// at or before At are lifted.
type Unban struct {
	Host   string
	Jail   string
	Prefix netip.Prefix
	At     time.Time
}

// Count is the fleet's failures of an address in one bucket.
type Count struct {
	Jail   string
	Prefix netip.Prefix
	Bucket int64
	Count  int
	Hosts  int
}

// Response is what the fleet answered.
type Response struct {
	// Bans are the other hosts' bans changed since the cursor and active
	// at Now, with Origin set; Capped says MaxBans cut them (the rest
	// come next run).
	Bans   []state.Ban
	Capped bool
	// Unbans are the other hosts' unbans since the cursor.
	Unbans []Unban
	// Counts are, for addresses whose fleet total over the jail's last
	// two findtimes reaches maxretry, their counts per bucket.
	Counts []Count
	// Cursor is the cursor to save once the response is merged.
	Cursor state.FleetCursor
}

// Failing is an address that failed on several hosts inside its jail's
// findtime.
type Failing struct {
	Jail     string
	Prefix   netip.Prefix
	Hosts    int
	Failures int
	Last     time.Time
}

// Overview is what `status --fleet` shows.
type Overview struct {
	// Bans are the fleet's bans active at the time asked, by origin
	// host (Ban.Origin), then jail and address.
	Bans []state.Ban
	// Failing are the addresses that failed on the most hosts, most
	// first.
	Failing []Failing
}
