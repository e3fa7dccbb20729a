package deliver

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"logjail/config"
	"logjail/mail"
)

// sendmailMailer hands messages to a sendmail program: the MTA's
// /usr/sbin/sendmail, or any program that speaks its command line
// (msmtp, Mailpit's sendmail).
type sendmailMailer struct {
	path    string
	timeout time.Duration
}

func (s *sendmailMailer) Server() string { return mail.Server(&config.Digest{Sendmail: s.path}) }

// mailUserAgents are programs that look like sendmail but read ~
// escapes from the message (~! runs a shell command: fail2ban's
// CVE-2021-32749). They are refused whatever the message holds.
var mailUserAgents = []string{"mail", "Mail", "mailx", "nail", "s-nail", "bsd-mailx", "heirloom-mailx", "mutt", "neomutt"}

// Send runs the program without a shell:
//
//	PATH -i -f SENDER -- RECIPIENT...
//
// with the message on standard input. -i: a line holding a lone dot does
// not end the message; -f: the envelope sender is digest.from; --: no
// recipient can be taken for an option. Exit status 0 means the program
// took the message.
func (s *sendmailMailer) Send(ctx context.Context, m *mail.Message) error {
	if err := checkSendmail(s.path); err != nil {
		return mailError(s.Server(), err)
	}
	from, err := bareAddress(m.From)
	if err != nil {
		return mailError(s.Server(), fmt.Errorf("digest.from %q: %w", m.From, err))
	}
	args := []string{"-i", "-f", from, "--"}
	for _, t := range m.To {
		a, err := bareAddress(t)
		if err != nil {
			return mailError(s.Server(), fmt.Errorf("digest.to %q: %w", t, err))
		}
		args = append(args, a)
	}
	data, err := Bytes(m)
	if err != nil {
		return mailError(s.Server(), err)
	}
	limit := s.timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = max(time.Until(d), 0).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.path, args...)
	cmd.Stdin = bytes.NewReader(data)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", limit)
		}
		if msg := oneLine(string(bytes.TrimSpace(out.Bytes()))); msg != "" {
			err = fmt.Errorf("%w: %s", err, mail.Printable(msg, maxOutput, "..."))
		}
		return mailError(s.Server(), err)
	}
	return nil
}

// checkSendmail refuses a program that is a mail user agent rather than
// a sendmail, by its name or the name of the file its links lead to.
func checkSendmail(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("digest.sendmail %q is not an absolute path", path)
	}
	names := []string{filepath.Base(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		names = append(names, filepath.Base(real))
	}
	for _, n := range names {
		for _, mua := range mailUserAgents {
			if n == mua || strings.HasPrefix(n, mua+".") {
				return fmt.Errorf("%s is a mail user agent (%s), which runs commands given as ~ escapes in the message: name the MTA's sendmail (/usr/sbin/sendmail) or msmtp", path, n)
			}
		}
	}
	return nil
}
