// Package state keeps logjail's memory between runs in one bbolt file.
//
// # Contents
//
// The file holds, in buckets:
//
//	meta     schema version, time of the last run and of the last digest
//	         sent, the digest's failed deliveries since ([DigestFailure]),
//	         warnings already reported, the [BanSummary] of the bans
//	         (gone with any write of a ban: a quiet run reads it instead
//	         of every ban)
//	files    per jail and log path: where reading stopped (offset, inode,
//	         fingerprint; see analyze.FileState)
//	tracks   per jail, shards of up to 256 tracks: per address (or IPv6
//	         network) the failures inside the window, the last ban and the
//	         offense count (analyze.Track), packed in key order under the
//	         key of the shard's first (see Tracks)
//	expiry   the shards indexed by the time their first track goes stale
//	         (analyze.Track.Expiry)
//	bans     the bans logjail holds: active ones, and expired ones until a
//	         run lifts them
//	history  every ban issued, by start time (those of one jail and time
//	         in batches: history.go), kept for `history` (default 30 days)
//	         for digests and reports
//	outbox   events waiting for the digest mail (bans, unbans, failures
//	         per run, warnings), numbered in the order added ([Event])
//
// # Transactions
//
// A run reads and writes everything in one write transaction ([DB.Update]):
// a crash at any instant leaves the file as it was before the run or as it
// is after it, never a mix. Offsets therefore never run ahead of the
// failures and bans they produced. A run whose transaction changed
// nothing ([Tx.Changed]) rolls it back instead ([ErrUnchanged]) and
// notes its time beside the file ([DB.NoteRun]).
//
// # Outbox
//
// A run adds its events to the outbox in its one transaction. The digest
// reads them, mails them, and deletes exactly the events it carried
// ([Tx.DeleteEvents], by number) in a second transaction once the mail
// server has accepted the mail; events added in between stay for the
// next digest. A crash between the server's acceptance and that commit
// leaves the events in the outbox, to be mailed again: a digest may come
// twice, a ban is never lost from it.
//
// # Locking
//
// bbolt locks the file with flock: one writer, or any number of readers.
// [Open] waits up to Options.Timeout for the lock and then fails with
// [ErrLocked]. Read-only opens take a shared lock, so `status` waits for a
// run in progress and a run waits for a `status` (which takes milliseconds).
//
// # Safety
//
// The file is created 0600 in a 0700 directory. A file that another user
// owns or that others may write is refused ([ErrPermissions]): whoever
// writes it decides what the firewall does. A damaged file is reported
// ([ErrCorrupt]), never replaced: the operator moves it aside and the next
// run starts afresh from the logs. A file written by a newer logjail is
// refused ([ErrNewerSchema]).
//
// # Cost
//
// A quiet run (no new lines) touches the meta and files buckets and the
// bans it holds; it never scans the tracks bucket, whose shards are read
// as failures arrive. Tracks are purged through the expiry index
// ([Tx.PurgeTracks]): one key per jail on a quiet run, and the shards
// holding the windows a run has passed, however many a flood left. Writes
// of many keys go in key order ([Tx.PutTracks]), which bbolt appends; in
// random order it moves memory in proportion to the square of their
// number.
//
// # Tracks
//
// A jail's tracks, sorted by key (the address's 16 bytes, IPv4 mapped,
// the prefix length, an IPv4 flag), are cut into ranges of at most 256
// tracks and 64 KiB (a large maxretry makes long tracks), each one value
// of the tracks bucket under jail, 0, the key of its first track. A
// shard holds the keys from its own up to the next shard's. Its
// value: a format byte (0x40), varint the earliest expiry of its tracks,
// uvarint their count, then per track a byte 1 for IPv4 (0 for IPv6), the
// prefix length, the address (4 or 16 bytes), uvarint the length of the
// track's encoding and the encoding (format byte 2, varint expiry,
// uvarint offenses, varint ban start and end, uvarint count, varint
// deltas of the failure times; Unix nanoseconds). The expiry index holds
// one key per shard: jail, 0, the earliest expiry (8 bytes, big-endian,
// sign bit flipped), the shard's key after the jail. [Tx.Track] finds a
// shard with a cursor (Seek, Prev) and decodes it once per transaction;
// [Tx.PutTracks] merges the updates of each shard it touches into it,
// once, splitting a shard past 256 into shards of at most 192 and deleting
// one left empty; [Tx.PurgeTracks] rewrites the shards the index says
// are due. One key per window (schema 3) made a flood of a million new
// addresses put two million keys, most of the run.
//
// # Size
//
// bbolt reuses free pages but never shrinks its file. [DB.Close] on a
// file opened for writing compacts it when free pages pass half of it
// (files of 32 MiB and more): a copy without them is written beside it,
// synced and renamed over it while the lock is still held, so a crash
// leaves the old file or the new one. A process that waited for the lock
// meanwhile holds the replaced file; [Open] notices the path's inode
// change and opens again.
//
// # Schema
//
// Version 2 added the expiry index; 3 the ban summary (no migration: a run
// writes it); 4 packed the tracks in shards. A file of 1 to 3 is migrated
// when opened for writing, in one transaction: its tracks (one key each)
// are read and written back in shards with their index; a version 1
// track, which has no expiry, is due at once, so the first run judges it.
// A read-only open (status, a dry run) of a file of 2 or 3 reads it as it
// is: a track under its own key reads as a shard of one.
package state
