package runner

import (
	"context"
	"fmt"
	"time"

	"logjail/config"
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
	Mailer report.Mailer
	// Force sends even when digest.every has not passed since the last
	// digest (the digest command).
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
}

// Events says how many events: "1 event", "2 events".
func Events(n int) string {
	if n == 1 {
		return "1 event"
	}
	return fmt.Sprintf("%d events", n)
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
				d.AddBan(report.DigestBan{Jail: b.Jail, Addr: report.IP(b.Prefix), Start: b.Start, Until: b.Until,
					Offense: b.Offense, Failures: b.Failures, Users: b.Users, Manual: b.Manual}, e.Time)
			}
		case state.EventUnban:
			if b := e.Ban; b != nil {
				d.AddUnban(b.Jail, e.Time)
			}
		case state.EventFailures:
			d.AddFailures(e.Counts, e.Time)
			for _, o := range e.Top {
				d.AddOffender(o.Jail, report.IP(o.Prefix), o.Failures, o.Users)
			}
		case state.EventWarning:
			d.AddWarning(e.Text, e.Time)
		}
	}
	return d, seqs, nil
}

// SendDigest mails the outbox as one digest when one is due: the outbox
// is not empty and digest.every has passed since the last digest (or
// Force, or no digest was ever sent, or the clock went back). The state
// is not locked by a transaction while the mail goes out; the caller's
// open state file holds the lock, so no other run adds or mails events
// meanwhile.
//
// Once the server has accepted the mail, the events it carried are
// deleted by number and the time recorded, in one transaction. A crash
// before that commit leaves them in the outbox: the next digest repeats
// them (a duplicate rather than a lost ban). A failed delivery changes
// nothing, so the next run tries again.
func SendDigest(ctx context.Context, db *state.DB, o DigestOptions) (*DigestOutcome, error) {
	out := &DigestOutcome{}
	var seqs []uint64
	err := db.View(func(tx *state.Tx) error {
		if tx.OutboxEmpty() {
			out.NotDue = "the outbox is empty"
			return nil
		}
		if last, ok := tx.LastDigest(); ok && !o.Force && !o.Now.Before(last) && o.Now.Sub(last) < o.Config.Digest.Every {
			out.NotDue = fmt.Sprintf("the last digest went at %s, digest.every is %s", last.Format(time.RFC3339), o.Config.Digest.Every)
			return nil
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
		return out, fmt.Errorf("digest: %w", err)
	}
	if err := o.Mailer.Send(ctx, m); err != nil {
		return out, fmt.Errorf("%w; %s kept for the next run", err, Events(len(seqs)))
	}
	out.Sent = true
	err = db.Update(func(tx *state.Tx) error {
		if err := tx.DeleteEvents(seqs...); err != nil {
			return err
		}
		return tx.SetLastDigest(o.Now)
	})
	if err != nil {
		return out, fmt.Errorf("digest sent to %s, but its events stay in the outbox and will be mailed again: %w", o.Mailer.Server(), err)
	}
	return out, nil
}
