// Package fleet holds what the hosts of a fleet exchange and how they
// decide from it: the [Request] a run sends, the [Response] it reads, the
// failure counts' buckets ([Bucket], [BucketOf]) and the fleet's ban of
// an address from its counts ([Decide]).
//
// It talks to no database. Package fleet/pg is the PostgreSQL client
// that carries a Request to the fleet's database and back; it runs in the
// helper program logjail-net (package remote), so that the logjail
// binary, started by cron every minute, does not load a PostgreSQL
// client (and its TLS and text libraries) for the hosts that have no
// fleet. The protocol's guarantees (idempotent sending, reading only
// what changed, time from the logs, per-host roles) are package pg's.
package fleet
