package deliver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"logjail/config"
	"logjail/mail"
)

// smtpMailer delivers to an SMTP server with go-mail.
type smtpMailer struct {
	cfg     config.SMTP
	helo    string
	timeout time.Duration
}

func (s *smtpMailer) Server() string {
	return mail.Server(&config.Digest{SMTP: s.cfg})
}

// Send delivers m. The TLS policy follows smtp.starttls:
//
//	auto    STARTTLS when the server offers it. The certificate is checked
//	        only when a password is to be sent (username set): a local
//	        relay's self-signed certificate still encrypts.
//	always  STARTTLS or no delivery; the certificate is checked.
//	never   plain text.
//	tls     TLS from the first byte (SMTPS); the certificate is checked.
//
// Certificates are checked against the system's roots (SSL_CERT_FILE and
// SSL_CERT_DIR add others) and the host name. AUTH picks the strongest
// mechanism the server offers; PLAIN and LOGIN, which send the password
// itself, only over TLS.
func (s *smtpMailer) Send(ctx context.Context, m *mail.Message) error {
	msg, err := build(m)
	if err != nil {
		return mailError(s.Server(), err)
	}
	verify := s.cfg.StartTLS != config.StartTLSAuto || s.cfg.Username != ""
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.timeout),
		gomail.WithHELO(heloName(s.helo)),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: !verify}),
	}
	switch s.cfg.StartTLS {
	case config.StartTLSAlways:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case config.StartTLSNever:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case config.StartTLSImplicit:
		opts = append(opts, gomail.WithSSL())
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.Username != "" {
		pw, err := ReadPassword(s.cfg.PasswordFile)
		if err != nil {
			return mailError(s.Server(), err)
		}
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(pw))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return mailError(s.Server(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err = c.DialAndSendWithContext(ctx, msg)
	if msg.IsDelivered() {
		// The server answered 250 to the end of DATA: the message is
		// its. A failure after that (RSET, QUIT) must not make us send
		// it again.
		return nil
	}
	if err == nil {
		err = errors.New("the server did not confirm the message")
	}
	return mailError(s.Server(), err)
}

// heloName is the name said in HELO: the host's, when it is a plain
// domain name.
func heloName(host string) string {
	if host == "" || strings.ContainsFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	}) {
		return "localhost"
	}
	return host
}

// maxPassword bounds what is read of a password file.
const maxPassword = 4096

// ReadPassword returns the first line of a password file, without its
// line end. The file must be a regular file that neither its group may
// write nor others may read or write (0600 or 0640): a password others
// can read is no secret, one others can write is not the operator's.
func ReadPassword(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("password file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o027 != 0 {
		return "", fmt.Errorf("password file %s has mode %04o, open to others: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPassword))
	if err != nil {
		return "", fmt.Errorf("password file %s: %w", path, err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("password file %s: the first line, the password, is empty", path)
	}
	return line, nil
}
