// Package journal reads the systemd journal for logjail, by running
// journalctl and parsing its export format; it needs no cgo and no
// libsystemd.
//
// # Reading
//
// [Read] runs `journalctl -q --no-pager -o export` on one [Source] (the
// local journal, a --directory, --file globs or a --namespace) with the
// source's matches, and hands every entry to a function. It resumes from
// a saved [Position]: with --cursor=SAVED, dropping the first entry when its
// __CURSOR is SAVED. (Not --after-cursor, which systemd before 255 lets skip
// an entry when the saved one is gone or does not match; not --cursor-file,
// which is not committed with logjail's state.) The caller saves the
// Position returned together with what it made of the entries, or nothing
// when Read fails: a non-zero exit of journalctl or malformed output is an
// error, and the entries delivered before it must be thrown away.
//
// # When the cursor is not where it was
//
// Before it runs journalctl, Read looks at the headers of the journal files
// (each file names its sequence number id and its first and last sequence
// numbers):
//
//   - A file of the saved seqnum id (s= in the cursor) holds the saved
//     entry: journalctl finds it, whatever files were added since (a new
//     file of systemd-journal-remote or a rotation by hand starts a new
//     seqnum id; the old file still holds the entry).
//   - The files of the saved seqnum id begin after the saved entry: the
//     entries between were vacuumed before they were read. Their number
//     is in Result.Lost, and a warning says so; reading goes on from the
//     first entry still there.
//   - No file has the saved seqnum id (a recreated journal, volatile
//     storage after a reboot, a journal of another machine) or the cursor
//     is malformed: reading starts at the saved time (--since), with a
//     warning. Never silently from the beginning of time.
//
// # Silent cases made loud
//
// journalctl says nothing, or nothing with -q, when there are no journal
// files (a container), when it cannot read them (not root, not in the
// groups systemd-journal or adm), when a namespace does not exist, and it
// skips empty, corrupt or unsupported files of a directory, or fails on the
// first one given with --file. Read lists the files itself, checks their
// headers, passes only the good ones with --file and reports the others by
// name in Result.Warnings; every line journalctl writes to stderr is a
// warning too. No file at all is an error ([ErrNoFiles]).
//
// journald's rate limit drops messages and logs "Suppressed N messages
// from UNIT" instead: Read asks for those notices beside the source's
// matches and counts, in Result.Suppressed, the ones about the units the
// source's entries came from or the source names.
//
// # Export format
//
// [Parser] reads the export format binary-safe: a value with a newline or
// a control character comes length-prefixed and is kept as it is.
package journal
