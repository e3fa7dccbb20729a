package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"logjail/config"
	"logjail/enforce"
	"logjail/mail"
	"logjail/report"
	"logjail/state"
)

// DigestOptions say how a digest is composed and sent.
type DigestOptions struct {
	Config *config.Config
	// Now is the digest's time: its Date, and what digest.every is
	// measured to.
	Now time.Time
	// Host is this machine's name, said in the subject.
	Host string
	// Mailer delivers the mail.
	Mailer mail.Mailer
	// Force sends even when digest.every has not passed since the last
	// digest, or the backoff after failed deliveries has not (the digest
	// command: an operator who has mended the mail server).
	Force bool
}

// DigestOutcome is what a digest step did.
type DigestOutcome struct {
	// Sent is true when a mail server accepted a digest.
	Sent bool
	// Events counts the outbox's events the digest carried (or would
	// have).
	Events int
	// Digest is the digest composed (nil when none was due).
	Digest *report.Digest
	// NotDue says why no digest was sent: "" when one was.
	NotDue string
	// Retry is when a failing digest is tried again (see Backoff): set
	// when the backoff held this one back, or when this one failed.
	Retry time.Time
}

// The backoff of a failing digest: the first retry a minute after the
// failure, each next one twice as long after the last failure, at most
// RetryMax (or digest.every when that is shorter).
const (
	RetryFirst = time.Minute
	RetryMax   = time.Hour
)

// cronSlack is how much earlier than its time a digest still goes, after
// digest.every or a retry's backoff: cron starts each run a moment after
// the minute, sometimes less of a moment than the run before, and a
// digest due an hour (or a retry a minute) later must go with that run,
// not the next one.
const cronSlack = 10 * time.Second

// maxDigestError bounds the error a failure record keeps, in characters.
const maxDigestError = 400

// Backoff is how long the digest waits after n failed deliveries in a
// row before the next try: 1 minute after the first, then 2, 4, 8, 16,
// 32 minutes, then an hour each time. When digest.every (every) is
// shorter than an hour it is the limit instead: a failing digest is
// tried at least as often as a working one would go, so once the server
// is back the digest waits no longer than every, as it may anyway.
//
// During an outage a run within the backoff does not connect and does
// not fail, so cron mails root one error line per try, not one a minute,
// and no run waits on a server that hangs. Bans are never held back.
func Backoff(n int, every time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	limit := RetryMax
	if every > 0 && every < limit {
		limit = every
	}
	d := RetryFirst
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// RetryAt is when a digest that failed as f says is tried again.
func RetryAt(f state.DigestFailure, every time.Duration) time.Time {
	return f.Last.Add(Backoff(f.Count, every))
}

// PendingDigest reads the outbox into a digest, changing nothing. It
// returns the events' numbers with it.
func PendingDigest(tx *state.Tx, host string, now time.Time) (*report.Digest, []uint64, error) {
	events, err := tx.Events()
	if err != nil {
		return nil, nil, err
	}
	d := report.NewDigest(host, now)
	seqs := make([]uint64, 0, len(events))
	for _, e := range events {
		seqs = append(seqs, e.Seq)
		switch e.Kind {
		case state.EventBan:
			if b := e.Ban; b != nil {
				d.AddBan(report.DigestBan{Jail: b.Jail, Addr: enforce.Addr(b.Prefix), Start: b.Start, Until: b.Until,
					Offense: b.Offense, Failures: b.Failures, Users: b.Users, Manual: b.Manual}, e.Time)
			}
		case state.EventUnban:
			if b := e.Ban; b != nil {
				d.AddUnban(b.Jail, e.Time)
			}
		case state.EventFailures:
			d.AddFailures(e.Counts, e.Time)
			for _, o := range e.Top {
				d.AddOffender(o.Jail, enforce.Addr(o.Prefix), o.Failures, o.Users)
			}
		case state.EventWarning:
			d.AddWarning(e.Text, e.Time)
		}
	}
	return d, seqs, nil
}

// SendDigest mails the outbox as one digest when one is due: the outbox
// is not empty, digest.every has passed since the last digest (or no
// digest was ever sent), and after failed deliveries the backoff has
// passed since the last of them (see Backoff), each give or take
// cronSlack; Force, or a clock gone
// back before the last digest or failure, makes it due. The state
// is not locked by a transaction while the mail goes out; the caller's
// open state file holds the lock, so no other run adds or mails events
// meanwhile.
//
// Once the server has accepted the mail, the events it carried are
// deleted by number and the time recorded, in one transaction. A crash
// before that commit leaves them in the outbox: the next digest repeats
// them (a duplicate rather than a lost ban). A failed delivery keeps the
// outbox and is recorded (state.Tx.AddDigestFailure): its time, the
// number of failures in a row and the error, which hold the next try
// back, and which a delivery the server accepts clears.
func SendDigest(ctx context.Context, db *state.DB, o DigestOptions) (*DigestOutcome, error) {
	out := &DigestOutcome{}
	var seqs []uint64
	err := db.View(func(tx *state.Tx) error {
		if tx.OutboxEmpty() {
			out.NotDue = "the outbox is empty"
			return nil
		}
		if last, ok := tx.LastDigest(); ok && !o.Force && !o.Now.Before(last) && o.Now.Sub(last) < o.Config.Digest.Every-cronSlack {
			out.NotDue = fmt.Sprintf("the last digest went at %s, digest.every is %s", last.Format(time.RFC3339), o.Config.Digest.Every)
			return nil
		}
		if f, ok := tx.DigestFailure(); ok && !o.Force && !o.Now.Before(f.Last) {
			if retry := RetryAt(f, o.Config.Digest.Every); o.Now.Before(retry.Add(-cronSlack)) {
				out.Retry = retry
				out.NotDue = fmt.Sprintf("the next try is at %s: %s since %s, the last: %s",
					retry.Format(time.RFC3339), report.Count(f.Count, "failed delivery", "failed deliveries"), f.Since.Format(time.RFC3339), f.Err)
				return nil
			}
		}
		var err error
		out.Digest, seqs, err = PendingDigest(tx, o.Host, o.Now)
		return err
	})
	if err != nil || out.Digest == nil {
		return out, err
	}
	out.Events = len(seqs)
	m, err := out.Digest.Mail(o.Config.Digest.From, o.Config.Digest.To)
	if err != nil {
		return out, digestFailed(db, o, out, fmt.Errorf("digest: %w", err))
	}
	if err := o.Mailer.Send(ctx, m); err != nil {
		return out, digestFailed(db, o, out, err)
	}
	out.Sent = true
	err = db.Update(func(tx *state.Tx) error {
		if err := tx.DeleteEvents(seqs...); err != nil {
			return err
		}
		if err := tx.ClearDigestFailure(); err != nil {
			return err
		}
		return tx.SetLastDigest(o.Now)
	})
	if err != nil {
		return out, fmt.Errorf("digest sent to %s, but its events stay in the outbox and will be mailed again: %w", o.Mailer.Server(), err)
	}
	return out, nil
}

// digestFailed records a failed delivery and returns its error, which
// says when the next try is.
func digestFailed(db *state.DB, o DigestOptions, out *DigestOutcome, cause error) error {
	text := report.PrintableCut(strings.TrimPrefix(cause.Error(), "digest: "), maxDigestError, "...")
	var f state.DigestFailure
	err := db.Update(func(tx *state.Tx) (err error) {
		f, err = tx.AddDigestFailure(o.Now, text)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w; %s kept for the next run (the failure is not recorded: %v)", cause, report.Count(out.Events, "event", "events"), err)
	}
	out.Retry = RetryAt(f, o.Config.Digest.Every)
	return fmt.Errorf("%w; %s kept, the next try at %s", cause, report.Count(out.Events, "event", "events"), out.Retry.Format(time.RFC3339))
}

// PreviewDigest composes the digest the outbox makes now, as it would be
// mailed; nil when the outbox is empty. It only reads the state.
func PreviewDigest(db *state.DB, cfg *config.Config, host string, now time.Time) (*mail.Message, error) {
	var d *report.Digest
	err := db.View(func(tx *state.Tx) error {
		var err error
		d, _, err = PendingDigest(tx, host, now)
		return err
	})
	if err != nil || d.Empty() {
		return nil, err
	}
	return d.Mail(cfg.Digest.From, cfg.Digest.To)
}
