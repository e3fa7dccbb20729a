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
//
// # Where decisions live
//
// runner holds every decision below the command line, so that each is
// made in one place whatever asks for it:
//
//   - Ban state: [Run], [Ban] and [Unban] (and the fleet's exchange,
//     fleet.go) change bans only through one ledger (bans.go), with one
//     merge rule (a held ban that lasts longer, or a permanent one, is
//     never shortened), one way of counting offenses (bans by hand count
//     for bantime_increment), history for every ban, and digest events
//     only while the digest is on.
//   - The guard: [Ban] refuses a target the firewall's guard refuses
//     before anything is written; the run's policy drops the failures of
//     such addresses ([Options].Guard), so no ban is decided that the
//     firewall would not install.
//   - The firewall step: a run calls Apply, a dry run Plan, with the same
//     desired bans ([Desired], [JailSpecs]); [DryRun] turns the result
//     into the document the dry run prints. A run whose bans are those
//     of the state's ban summary reads none: with a kernel backend it
//     checks the kernel against the mark the last apply left in the
//     summary ([enforce.Checker]) and compares in full only when the
//     check fails or [FullCompareEvery] has passed (firewallStep).
//     [Ban] commits the state first and changes the firewall after; with
//     a backend that can stage ([enforce.Stager]) it stages the change
//     while its transaction writes and commits (stage.go): from the
//     start when every new ban lasts as long (--for, the manual jail),
//     predicted from the bans held and checked by the transaction, else
//     once the transaction has decided; applied after the commit,
//     dropped when it fails.
//   - Sources: a jail's records come through [analyze.Source], its log
//     files' and its journal's ([journal.RunSource]) alike, read by one
//     loop (sources.go), which saves each source's opaque position with
//     the filter's context. What differs per kind is where the state
//     keeps the record (a journal's in its own bucket, with the totals of
//     entries lost) and what is counted and said after the read.
//   - The fleet: after the run's own commit, syncFleet sends the fleet
//     outbox the ledger filled and merges the fleet's bans, unbans and
//     (share: failures) decisions from its counts through the same
//     ledger and guard; a failed exchange is a problem of the run, never
//     a reason not to ban locally.
//   - What the commands show: [Status], [WriteMetrics], [Replay] (the
//     what-if) and [PreviewDigest] are functions of the state and the
//     configuration, tested in-process; package main only prints them.
package runner
