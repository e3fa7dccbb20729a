// Package pg is the fleet's PostgreSQL client (pgx): it shares bans,
// unbans and failure counts between the hosts of a fleet through one
// database. It runs in logjail-net (package remote), never in the
// logjail binary itself, so that a run without a fleet does not load it.
//
// There is no daemon: each `logjail run` connects ([Connect]), sends what
// it decided since its last exchange and reads what the other hosts
// decided ([Client.Exchange]), all in one transaction, and disconnects.
// Each host's own state file stays the source of truth for its firewall:
// package runner merges what the fleet answers through the same ban
// rules and guard as the host's own bans.
//
// # Schema
//
// `logjail fleet init` ([Init]) creates the schema logjail (tables bans,
// unbans, failures and schema_version) or migrates it, in one
// transaction under an advisory lock: hosts running it at once apply
// every step once. A run refuses a database whose schema is missing,
// older or newer than its own ([ErrNoSchema], [ErrNewerSchema]).
//
// # Idempotent sending
//
// A host's changes wait in its state's fleet outbox until the server has
// committed them. Every row carries the host's growing outbox number
// (seq); the server applies a row only over a lower one, and every row
// is a whole value (a ban, an unban, the host's total of one failure
// bucket), never a difference. A run killed after the server's commit
// and before its state's sends the same rows again, which changes
// nothing.
//
// # Reading only what changed
//
// Every row records the id of the transaction that wrote it (xid). A
// host keeps a cursor per table and reads only the rows after it, in xid
// order, so a run's cost follows the fleet's changes since the last run,
// not the table's size. The cursor never passes the oldest transaction
// still running when the read began (the snapshot's xmin): a row written
// by a transaction that commits later is read by a later run. At most
// max_bans bans are read per run; the rest come in the next runs.
//
// # Time
//
// Every time the fleet stores comes from the hosts' log lines and their
// `--now`; the database's clock is never used. Failure counts fall in
// buckets of [fleet.Bucket]; [fleet.Decide] turns the fleet's counts of an address
// into the same ban on every host.
//
// # Roles
//
// The tables have row-level security: a role that is not the schema's
// owner reads every row and writes only rows whose host is its own name
// ([Grants]). A per-host role named like the host's fleet.host thus
// cannot forge or lift another host's bans.
package pg
