package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"logjail/config"
)

// Timeout bounds each step of an SMTP delivery: connecting (TLS
// handshake included for implicit TLS), opening the session (greeting,
// STARTTLS, AUTH), and sending the message; and a sendmail program's
// whole run. A run holds the state's lock while it mails, so a mail
// server that hangs must not hold the next run up for long.
const Timeout = 20 * time.Second

// Message is one mail: a digest composed for its recipients.
type Message struct {
	From    string
	To      []string
	Subject string
	// Date is the message's date: the digest's time, not the clock's.
	Date time.Time
	// Host names the machine in the Message-ID.
	Host string
	// Text and HTML are the two alternative bodies.
	Text, HTML string
}

// WritePreview writes the message as a person reads it: the main
// headers, a blank line, the text body.
func (m *Message) WritePreview(w io.Writer) error {
	_, err := fmt.Fprintf(w, "From: %s\nTo: %s\nSubject: %s\nDate: %s\n\n%s",
		m.From, strings.Join(m.To, ", "), m.Subject, m.Date.Format(time.RFC1123Z), m.Text)
	return err
}

// msg builds the MIME message: multipart/alternative, text then HTML,
// UTF-8, quoted-printable. go-mail writes the headers: it encodes
// non-ASCII and control characters (RFC 2047) and folds long lines; the
// only text not from the configuration in a header is the host name in
// the subject, already stripped of control characters (Digest.Subject).
func (m *Message) msg() (*gomail.Msg, error) {
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

// Bytes returns the message as it goes on the wire (CRLF line ends).
func (m *Message) Bytes() ([]byte, error) {
	msg, err := m.msg()
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

// A Mailer delivers messages.
type Mailer interface {
	// Send delivers m. It returns nil only when the mail server (or the
	// sendmail program) has taken the message: then it must not be sent
	// again. An error names the server and is one line.
	Send(ctx context.Context, m *Message) error
	// Server names where mail goes: "SMTP server HOST:PORT" or
	// "sendmail PATH".
	Server() string
}

// New returns the mailer the digest section configures: the
// sendmail program when digest.sendmail is set, else the SMTP server.
// host is this machine's name, said in HELO.
func New(d *config.Digest, host string) Mailer {
	if d.Sendmail != "" {
		return &sendmailMailer{path: d.Sendmail, timeout: Timeout}
	}
	return &smtpMailer{cfg: d.SMTP, helo: host, timeout: Timeout}
}

// mailError is a failed delivery: one line naming the server.
func mailError(server string, err error) error {
	return fmt.Errorf("digest: mail to %s failed: %s", server, oneLine(err.Error()))
}

// maxOutput bounds what a failed sendmail said, in characters, in its
// error.
const maxOutput = 300

// Printable keeps of s only what is safe in a header or on a terminal:
// invalid UTF-8 and characters that do not print (line breaks and
// escape sequences among them) are dropped; at most max characters,
// more appended when some were cut.
func Printable(s string, max int, more string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "") {
		if !unicode.IsPrint(r) {
			continue
		}
		if n++; n > max {
			b.WriteString(more)
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

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
