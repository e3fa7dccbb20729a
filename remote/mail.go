package remote

import (
	"context"
	"fmt"

	"logjail/config"
	"logjail/mail"
)

// NewMailer returns the mailer of the digest section d, delivering
// through logjail-net (mail/deliver's New). host is this machine's name,
// said in HELO and in the Message-ID.
func NewMailer(d *config.Digest, host string) mail.Mailer {
	return &mailer{d: *d, host: host}
}

type mailer struct {
	d    config.Digest
	host string
}

func (m *mailer) Server() string { return mail.Server(&m.d) }

// Send delivers msg. logjail-net bounds each step by mail.Timeout; the
// call as a whole is bounded by twice that.
func (m *mailer) Send(ctx context.Context, msg *mail.Message) error {
	ctx, cancel := context.WithTimeout(ctx, 2*mail.Timeout)
	defer cancel()
	rep, err := run(ctx, VerbMail, &Call{Host: m.host, Digest: &m.d, Message: msg})
	if err != nil && rep == nil {
		// logjail-net did not run, or did not answer; its own errors
		// name the server already.
		return fmt.Errorf("digest: mail to %s failed: %w", m.Server(), err)
	}
	return err
}
