// Package runner carries out one `logjail run`: the cron job.
//
// In one state transaction it reads the new lines of every enabled jail's
// log files (from the saved offsets, following rotation), applies the
// jail's filter and ban policy, records the bans decided, lifts the ones
// that expired, adds its events to the digest outbox, and saves the
// offsets; then it brings the firewall to the bans active at the run's
// time, and last mails the digest when it is due ([SendDigest]; after a
// failed delivery the tries back off, see [Backoff]). A dry
// run does all of it against a read transaction and keeps and mails
// nothing.
//
// One jail's unreadable log does not stop the others: the run goes on,
// reports the file once (not at every run: cron would mail it every
// minute) and ends with exit code 1.
package runner
