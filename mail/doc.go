// Package mail delivers logjail's digest: to an SMTP server (STARTTLS,
// implicit TLS, AUTH with a password read from a file at send time) or
// through a sendmail program, each step bounded by [Timeout].
//
// It composes nothing: package report turns a digest into a [Message]
// (subject, text and HTML bodies); this package makes the MIME message
// of it and hands it over. A [Mailer] returns nil only once a server or
// program has taken the message, and otherwise one line naming where it
// went.
package mail
