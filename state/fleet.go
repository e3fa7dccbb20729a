package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// The fleet bucket (created by the first write that needs it) holds what
// a host that takes part in a fleet must remember between runs:
//
//	o/KIND/KEY  the fleet outbox: bans, unbans and failure counts decided
//	            here, one entry per (kind, jail, prefix[, bucket]): a
//	            newer change of the same key replaces the unsent one.
//	            Bans and unbans go once the server accepted them; a
//	            failure count stays, marked sent, while its bucket can
//	            count (the host's total for the bucket is what it sends,
//	            so that a count sent twice is not counted twice)
//	cursor      how far the fleet's changes have been read (FleetCursor)
//	status      the last exchange's outcome (FleetStatus)
var (
	bucketFleet     = []byte("fleet")
	keyFleetCursor  = []byte("cursor")
	keyFleetStatus  = []byte("status")
	prefixFleetSend = []byte("o/")
)

// Kinds of fleet outbox entries.
const (
	FleetBan      = "ban"
	FleetUnban    = "unban"
	FleetFailures = "failures"
)

// FleetEntry is a change this host sends to the fleet. Seq only grows:
// the server keeps the highest Seq it applied per row, so an entry sent
// twice (a run killed after the server's commit and before the state's)
// changes nothing the second time. Every entry carries a whole value (a
// ban, an unban, this host's total for a failure bucket), never a
// difference.
type FleetEntry struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
	// Ban is the ban, for FleetBan.
	Ban *Ban `json:"ban,omitempty"`
	// Jail, Prefix and At are the unban (At: when lifted), or the
	// failures' address; Bucket is the failures' time bucket (Unix
	// seconds of its start) and Count how many fell in it here.
	Jail   string       `json:"jail,omitempty"`
	Prefix netip.Prefix `json:"prefix,omitzero"`
	At     time.Time    `json:"at,omitzero"`
	Bucket int64        `json:"bucket,omitempty"`
	Count  int          `json:"count,omitempty"`
	// Sent marks a failure count the server accepted, kept so that the
	// bucket's later failures add to it.
	Sent bool `json:"sent,omitempty"`
}

func (e *FleetEntry) key() []byte {
	k := append(append([]byte(nil), prefixFleetSend...), e.Kind...)
	k = append(k, '/')
	jail, p := e.Jail, e.Prefix
	if e.Ban != nil {
		jail, p = e.Ban.Jail, e.Ban.Prefix
	}
	k = append(k, banKey(jail, p)...)
	if e.Kind == FleetFailures {
		k = binary.BigEndian.AppendUint64(k, uint64(e.Bucket))
	}
	return k
}

// AddFleetEntry queues a change for the fleet. An entry of the same kind
// and key is replaced; for failures its count is added (sent or not).
func (tx *Tx) AddFleetEntry(e FleetEntry) error {
	if !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	b, err := tx.tx.CreateBucketIfNotExists(bucketFleet)
	if err != nil {
		return fmt.Errorf("fleet outbox of %s: %w", tx.path, err)
	}
	k := e.key()
	if e.Kind == FleetFailures {
		if old := b.Get(k); old != nil {
			var o FleetEntry
			if err := json.Unmarshal(old, &o); err != nil {
				return corrupt(tx.path, fmt.Errorf("fleet entry %q: %v", k, err))
			}
			e.Count += o.Count
		}
		e.Sent = false
	}
	if e.Seq, err = b.NextSequence(); err != nil {
		return fmt.Errorf("fleet outbox of %s: %w", tx.path, err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode fleet entry: %w", err)
	}
	return b.Put(k, data)
}

// FleetEntries returns the fleet outbox's unsent entries, by kind and
// key.
func (tx *Tx) FleetEntries() ([]FleetEntry, error) {
	b := tx.bucket(bucketFleet)
	if b == nil {
		return nil, nil
	}
	var out []FleetEntry
	c := b.Cursor()
	for k, v := c.Seek(prefixFleetSend); k != nil && len(k) >= 2 && string(k[:2]) == string(prefixFleetSend); k, v = c.Next() {
		var e FleetEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, corrupt(tx.path, fmt.Errorf("fleet entry %q: %v", k, err))
		}
		if !e.Sent {
			out = append(out, e)
		}
	}
	return out, nil
}

// FleetSent marks the entries the server accepted (those whose key still
// holds the same Seq; one replaced since is kept): bans and unbans are
// deleted, failure counts marked sent.
func (tx *Tx) FleetSent(sent []FleetEntry) error {
	b := tx.bucket(bucketFleet)
	if b == nil {
		return nil
	}
	for i := range sent {
		k := sent[i].key()
		v := b.Get(k)
		if v == nil {
			continue
		}
		var e FleetEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return corrupt(tx.path, fmt.Errorf("fleet entry %q: %v", k, err))
		}
		if e.Seq != sent[i].Seq {
			continue
		}
		if e.Kind == FleetFailures {
			e.Sent = true
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put(k, data); err != nil {
				return fmt.Errorf("fleet outbox of %s: %w", tx.path, err)
			}
			continue
		}
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("fleet outbox of %s: %w", tx.path, err)
		}
	}
	return nil
}

// FleetCursor is how far this host has read the fleet's tables: per
// table the last row read, in the server's order of change. Its fields
// are the server's; the state only keeps them.
type FleetCursor map[string]json.RawMessage

// FleetCursor returns the saved cursor (empty when none).
func (tx *Tx) FleetCursor() (FleetCursor, error) {
	c := FleetCursor{}
	data := tx.get(bucketFleet, keyFleetCursor)
	if data == nil {
		return c, nil
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, corrupt(tx.path, fmt.Errorf("fleet cursor: %v", err))
	}
	return c, nil
}

// SetFleetCursor saves the cursor.
func (tx *Tx) SetFleetCursor(c FleetCursor) error {
	return tx.putFleet(keyFleetCursor, c)
}

// FleetStatus is the outcome of the fleet exchanges.
type FleetStatus struct {
	// LastOK is the run time of the last exchange that succeeded.
	LastOK time.Time `json:"last_ok,omitzero"`
	// Failures counts the failed exchanges since, Since is the first's
	// run time and Err the latest's error.
	Failures int       `json:"failures,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Err      string    `json:"error,omitempty"`
}

// FleetStatus returns the saved outcome.
func (tx *Tx) FleetStatus() (FleetStatus, error) {
	var s FleetStatus
	data := tx.get(bucketFleet, keyFleetStatus)
	if data == nil {
		return s, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, corrupt(tx.path, fmt.Errorf("fleet status: %v", err))
	}
	return s, nil
}

// SetFleetStatus saves the outcome.
func (tx *Tx) SetFleetStatus(s FleetStatus) error { return tx.putFleet(keyFleetStatus, s) }

// FleetPending counts the outbox's unsent entries.
func (tx *Tx) FleetPending() int {
	es, _ := tx.FleetEntries()
	return len(es)
}

// PurgeFleetCounts deletes the sent failure counts of buckets that start
// before the Unix second before: they can no longer count.
func (tx *Tx) PurgeFleetCounts(before int64) error {
	b := tx.bucket(bucketFleet)
	if b == nil {
		return nil
	}
	pre := append(append([]byte(nil), prefixFleetSend...), FleetFailures+"/"...)
	c := b.Cursor()
	for k, v := c.Seek(pre); k != nil && len(k) >= len(pre) && string(k[:len(pre)]) == string(pre); {
		var e FleetEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return corrupt(tx.path, fmt.Errorf("fleet entry %q: %v", k, err))
		}
		if e.Sent && e.Bucket < before {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("fleet outbox of %s: %w", tx.path, err)
			}
			k, v = c.Seek(k)
			continue
		}
		k, v = c.Next()
	}
	return nil
}

func (tx *Tx) putFleet(key []byte, v any) error {
	if !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	b, err := tx.tx.CreateBucketIfNotExists(bucketFleet)
	if err != nil {
		return fmt.Errorf("fleet bucket of %s: %w", tx.path, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}
