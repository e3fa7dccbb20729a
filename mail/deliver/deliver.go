// Package deliver hands logjail's digest ([mail.Message]) to an SMTP
// server (STARTTLS, implicit TLS, AUTH with a password read from a file
// at send time) or to a sendmail program, each step bounded by
// [mail.Timeout]. It makes the MIME message with go-mail.
//
// It runs in the helper program logjail-net (package remote), not in the
// logjail binary: cron starts logjail every minute, and a digest goes
// out at most every few minutes.
package deliver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	netmail "net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"logjail/config"
	"logjail/mail"
)

// msg builds the MIME message: multipart/alternative, text then HTML,
// UTF-8, quoted-printable. go-mail writes the headers: it encodes
// non-ASCII and control characters (RFC 2047) and folds long lines; the
// only text not from the configuration in a header is the host name in
// the subject, already stripped of control characters (Digest.Subject).
func build(m *mail.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("digest.from %q: %w", m.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("digest.to %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Date)
	msg.SetMessageIDWithValue(messageID(m.Host))
	msg.SetUserAgent("logjail")
	// RFC 3834: no vacation or out-of-office replies to a robot.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// Bytes returns m as it goes on the wire (CRLF line ends).
func Bytes(m *mail.Message) ([]byte, error) {
	msg, err := build(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	return b.Bytes(), nil
}

// messageID is a unique Message-ID right side first: 128 random bits at
// the host (or localhost when its name is not a plain domain name).
func messageID(host string) string {
	var r [16]byte
	rand.Read(r[:])
	ok := host != "" && len(host) <= 253
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			ok = false
		}
	}
	if !ok {
		host = "localhost"
	}
	return "logjail." + hex.EncodeToString(r[:]) + "@" + host
}

// New returns the mailer the digest section configures: the
// sendmail program when digest.sendmail is set, else the SMTP server.
// host is this machine's name, said in HELO.
func New(d *config.Digest, host string) mail.Mailer {
	if d.Sendmail != "" {
		return &sendmailMailer{path: d.Sendmail, timeout: mail.Timeout}
	}
	return &smtpMailer{cfg: d.SMTP, helo: host, timeout: mail.Timeout}
}

// mailError is a failed delivery: one line naming the server.
func mailError(server string, err error) error {
	return fmt.Errorf("digest: mail to %s failed: %s", server, oneLine(err.Error()))
}

// maxOutput bounds what a failed sendmail said, in characters, in its
// error.
const maxOutput = 300

// oneLine joins the lines of s with "; ".
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// bareAddress returns the address part of an RFC 5322 address ("Ops
// <ops@example.com>" → "ops@example.com").
func bareAddress(s string) (string, error) {
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}
