package mail

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

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

// Server names where the digest section d sends mail, as its Mailer's
// Server says it.
func Server(d *config.Digest) string {
	if d.Sendmail != "" {
		return "sendmail " + d.Sendmail
	}
	return "SMTP server " + net.JoinHostPort(d.SMTP.Host, strconv.Itoa(d.SMTP.Port))
}
