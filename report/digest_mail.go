package report

import (
	"bytes"
	"fmt"

	"logjail/mail"
)

// Mail composes the digest into a message from → to (RFC 5322
// addresses, as digest.from and digest.to hold them).
func (d *Digest) Mail(from string, to []string) (*mail.Message, error) {
	var text, html bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		return nil, fmt.Errorf("compose digest text: %w", err)
	}
	if err := d.WriteHTML(&html); err != nil {
		return nil, fmt.Errorf("compose digest HTML: %w", err)
	}
	return &mail.Message{From: from, To: to, Subject: d.Subject(), Date: d.Now, Host: d.Host,
		Text: text.String(), HTML: html.String()}, nil
}
