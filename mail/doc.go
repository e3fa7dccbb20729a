// Package mail is logjail's digest as a mail: the [Message] package
// report composes (subject, text and HTML bodies) and the [Mailer] that
// delivers it, which returns nil only once a server or program has taken
// the message, and otherwise one line naming where it went ([Server]).
//
// Delivery itself (MIME, SMTP, sendmail) is package mail/deliver's, run
// in the helper program logjail-net (package remote) so that the logjail
// binary does not load an SMTP client at every start.
package mail
