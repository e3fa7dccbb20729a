package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Kinds of outbox events.
const (
	EventBan      = "ban"
	EventUnban    = "unban"
	EventFailures = "failures"
	EventWarning  = "warning"
)

// Event is an entry of the digest outbox.
type Event struct {
	// Seq identifies the event in the outbox: it only grows, so the
	// events a mail carried can be deleted by their numbers once the
	// server accepted it, and events added later are never among them.
	Seq  uint64    `json:"-"`
	Kind string    `json:"kind"` // EventBan, EventUnban, EventFailures, EventWarning
	Time time.Time `json:"time"`
	Ban  *Ban      `json:"ban,omitempty"`
	Text string    `json:"text,omitempty"`
	// Counts per jail, for kind "failures": the failures one run counted
	// (ignored addresses and host names left out).
	Counts map[string]int `json:"counts,omitempty"`
	// Top are the run's busiest addresses, for kind "failures".
	Top []Offender `json:"top,omitempty"`
}

// Offender is an address with its failures in one run.
type Offender struct {
	Jail     string       `json:"jail"`
	Prefix   netip.Prefix `json:"prefix"`
	Failures int          `json:"failures"`
	Users    []string     `json:"users,omitempty"`
}

// AddEvent appends an event to the digest outbox.
func (tx *Tx) AddEvent(e *Event) error {
	b := tx.bucket(bucketOutbox)
	if b == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("outbox of %s: %w", tx.path, err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, seq), data)
}

// Events returns the outbox, oldest first.
func (tx *Tx) Events() ([]Event, error) {
	b := tx.bucket(bucketOutbox)
	if b == nil {
		return nil, nil
	}
	var out []Event
	err := b.ForEach(func(k, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil || len(k) != 8 {
			return corrupt(tx.path, fmt.Errorf("event %q: %v", k, err))
		}
		e.Seq = binary.BigEndian.Uint64(k)
		out = append(out, e)
		return nil
	})
	return out, err
}

// OutboxEmpty reports whether no event waits for a digest, without
// reading the events.
func (tx *Tx) OutboxEmpty() bool {
	b := tx.bucket(bucketOutbox)
	if b == nil {
		return true
	}
	k, _ := b.Cursor().First()
	return k == nil
}

// EventCount counts the outbox's events without reading them.
func (tx *Tx) EventCount() int {
	b := tx.bucket(bucketOutbox)
	if b == nil {
		return 0
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// DeleteEvents removes the events numbered seqs (Event.Seq): those a mail
// server accepted. Numbers no longer in the outbox are skipped.
func (tx *Tx) DeleteEvents(seqs ...uint64) error {
	b := tx.bucket(bucketOutbox)
	if b == nil || !tx.tx.Writable() {
		return fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	for _, s := range seqs {
		if err := b.Delete(binary.BigEndian.AppendUint64(nil, s)); err != nil {
			return fmt.Errorf("outbox of %s: delete event %d: %w", tx.path, s, err)
		}
	}
	return nil
}

// ClearEvents empties the outbox (digest disabled) and returns how many
// events it held. It drops the bucket and makes a new one with the same
// sequence (event numbers only grow): deleting keys one by one from the
// front revisits the emptied pages, which bbolt frees only at commit.
func (tx *Tx) ClearEvents() (int, error) {
	b := tx.bucket(bucketOutbox)
	if b == nil || !tx.tx.Writable() {
		return 0, fmt.Errorf("%w: %s", ErrReadOnly, tx.path)
	}
	n, seq := tx.EventCount(), b.Sequence()
	if err := tx.tx.DeleteBucket(bucketOutbox); err != nil {
		return 0, fmt.Errorf("outbox of %s: %w", tx.path, err)
	}
	b, err := tx.tx.CreateBucket(bucketOutbox)
	if err == nil {
		err = b.SetSequence(seq)
	}
	if err != nil {
		return 0, fmt.Errorf("outbox of %s: %w", tx.path, err)
	}
	return n, nil
}

// LastDigest returns when the last digest was accepted by the mail
// server.
func (tx *Tx) LastDigest() (time.Time, bool) { return tx.timeMeta(keyLastDigest) }

// SetLastDigest records when a digest was accepted.
func (tx *Tx) SetLastDigest(t time.Time) error { return tx.setTimeMeta(keyLastDigest, t) }

// MaxDigestError bounds the error text a DigestFailure keeps, in bytes.
const MaxDigestError = 1000

// DigestFailure is the record of the digest deliveries that failed in a
// row since a mail server last accepted one.
type DigestFailure struct {
	// Count is how many deliveries failed in a row.
	Count int
	// Since is when the first of them was tried; Last when the latest.
	Since, Last time.Time
	// Err is the latest one's error.
	Err string
}

// DigestFailure returns the failed deliveries since the last digest a
// server accepted; ok is false when there are none. A file written before
// logjail recorded failures has none.
func (tx *Tx) DigestFailure() (f DigestFailure, ok bool) {
	n, err := strconv.Atoi(string(tx.get(bucketMeta, keyDigestFailures)))
	if err != nil || n <= 0 {
		return DigestFailure{}, false
	}
	last, ok := tx.timeMeta(keyDigestFailLast)
	if !ok {
		return DigestFailure{}, false
	}
	since, ok := tx.timeMeta(keyDigestFailSince)
	if !ok || since.After(last) {
		since = last
	}
	return DigestFailure{Count: n, Since: since, Last: last, Err: string(tx.get(bucketMeta, keyDigestError))}, true
}

// AddDigestFailure records a failed delivery at t with its error (cut to
// MaxDigestError bytes) and returns the record it makes.
func (tx *Tx) AddDigestFailure(t time.Time, errText string) (DigestFailure, error) {
	f, ok := tx.DigestFailure()
	if !ok {
		f = DigestFailure{Since: t}
	}
	f.Count++
	f.Last = t
	if len(errText) > MaxDigestError {
		errText = strings.ToValidUTF8(errText[:MaxDigestError-3], "") + "..."
	}
	f.Err = errText
	if err := tx.put(bucketMeta, keyDigestFailures, []byte(strconv.Itoa(f.Count))); err != nil {
		return f, err
	}
	if err := tx.setTimeMeta(keyDigestFailSince, f.Since); err != nil {
		return f, err
	}
	if err := tx.setTimeMeta(keyDigestFailLast, f.Last); err != nil {
		return f, err
	}
	return f, tx.put(bucketMeta, keyDigestError, []byte(f.Err))
}

// ClearDigestFailure forgets the failed deliveries: a server accepted a
// digest, or the digest was turned off. Without any it writes nothing.
func (tx *Tx) ClearDigestFailure() error {
	for _, k := range [][]byte{keyDigestFailures, keyDigestFailSince, keyDigestFailLast, keyDigestError} {
		if tx.get(bucketMeta, k) == nil {
			continue
		}
		if err := tx.del(bucketMeta, k); err != nil {
			return err
		}
	}
	return nil
}
