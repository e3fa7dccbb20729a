package state

import (
	"encoding/json"
	"fmt"
	"time"
)

// keyBanSummary holds the BanSummary of the last full look at the bans.
var keyBanSummary = []byte("ban_summary")

// BanSummary is what a run needs to know of the bans held when none was
// written since it was made, so that a quiet run does not read them all:
// until Next, no ban held ends or starts, so the active bans are the same.
// Every write of a ban (PutBan, DeleteBan) deletes it.
type BanSummary struct {
	// At is the time the summary holds for (the run's now).
	At time.Time `json:"at"`
	// Next is the earliest time after At at which a ban held ends or
	// starts; zero when none ever does (only permanent bans, or none).
	Next time.Time `json:"next,omitzero"`
	// Active counts the bans active at At, by jail.
	Active map[string]int `json:"active,omitempty"`
	// Config is the caller's fingerprint of what else decided the
	// summary (the configuration); a summary made under another one is
	// not used.
	Config uint64 `json:"config"`
	// Refused says that the firewall's guard refused one of the active
	// bans at At (the run reports those at every run: it reads them).
	Refused bool `json:"refused,omitempty"`
	// Firewall is what the firewall step left in the kernel for these
	// bans, as the backend's cheap check compares it (an enforce.Mark in
	// JSON, opaque here); absent when there is none to trust.
	Firewall json.RawMessage `json:"firewall,omitempty"`
}

// Holds reports whether the summary still describes the bans at now
// under the configuration fingerprint config.
func (s *BanSummary) Holds(now time.Time, config uint64) bool {
	return s.Config == config && !now.Before(s.At) && (s.Next.IsZero() || now.Before(s.Next))
}

// BanSummary returns the summary kept, if no ban was written since it was
// set.
func (tx *Tx) BanSummary() (BanSummary, bool, error) {
	var s BanSummary
	v := tx.get(bucketMeta, keyBanSummary)
	if v == nil {
		return s, false, nil
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return s, false, corrupt(tx.path, fmt.Errorf("ban summary: %w", err))
	}
	return s, true, nil
}

// SetBanSummary keeps s until the next write of a ban.
func (tx *Tx) SetBanSummary(s BanSummary) error {
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("ban summary: %w", err)
	}
	if err := tx.put(bucketMeta, keyBanSummary, v); err != nil {
		return err
	}
	tx.summaryGone = false
	return nil
}

// bansWritten drops the ban summary, once per transaction until the next
// SetBanSummary: the bans it describes changed.
func (tx *Tx) bansWritten() error {
	if tx.summaryGone {
		return nil
	}
	if err := tx.del(bucketMeta, keyBanSummary); err != nil {
		return err
	}
	tx.summaryGone = true
	return nil
}
