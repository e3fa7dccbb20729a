// Package analyze turns log text into authentication failures.
//
// It owns everything between the bytes of a log file and a list of
// (time, address, user) failures: splitting lines, parsing timestamps,
// recognising addresses, and the filters themselves. It touches neither the
// state file nor the firewall.
//
// # Lines
//
// [LineReader] splits a stream into lines. A line ends at '\n'; a '\r'
// before it is dropped. Lines longer than [MaxLineLen] are counted and
// skipped. Bytes after the last '\n' are never returned: they may be a line
// that is still being written, and the next run reads them once complete.
//
// # Sources
//
// A jail reads its records from sources: anything that implements the
// small [Source] interface, reading the records after an opaque saved
// position and returning the next one. The run's loop (package runner)
// knows only that interface, so a new kind of source (the systemd
// journal) is a second implementation beside [FileSource], without a
// change to the loop.
//
// [FileSource] is a log path; [Read] reads the lines of a log path written since the last run, given
// the [FileState] saved then, and returns the state to save: the file's
// device and inode, the offset and number of the last whole line consumed,
// its size and modification time, and a fingerprint (its first 256 bytes).
// A run that finds the same file with the same size and time reads nothing:
// one stat. Otherwise:
//
//   - Same inode, same first bytes, not shorter: the file grew; it is read
//     from the offset. A line not yet ended stays for the next run.
//   - Same inode but shorter, or other first bytes: truncated in place
//     (copytruncate) or rewritten. The copy logrotate made, plain or gzip,
//     is the rotated file that starts with the fingerprint and reaches the
//     offset; its rest is read, then the file from its start.
//   - Another inode: renamed (create, nocreate, dateext), deleted and
//     created anew, or replaced. The old file is looked for in the
//     directory by device and inode under any name (auth.log.1, .0,
//     -20261124, -20261124-13), else, already compressed, as the .gz that
//     starts with the fingerprint and reaches the offset; its rest is read,
//     then the new file from its start.
//   - Rotated files modified after the last run's horizon (the latest
//     modification time of the files read to their end) that are no copy
//     of a file read hold whole generations never seen (two rotations
//     between runs): they are read from their start, oldest first, before
//     the new file.
//   - A program keeps writing to a renamed file until it reopens the log
//     (rsyslog until its HUP): the renamed files read are kept in
//     FileState.Prev (at most eight) and their new lines read at each run,
//     first. One is dropped when it is gone, compressed (its rest is read
//     from the .gz), or was found unchanged at two runs in a row and ten
//     minutes after it last grew (by the run's now). A writer that still
//     has not reopened after that is misconfigured: what it appends to a
//     dropped file is missed, or read again whole with the file at a later
//     rotation.
//   - A last line without its newline waits in the live file, however
//     long: a writer that flushes a line in pieces (stdio buffers, rsyslog
//     between its flushes) may end it minutes later, and counting its first
//     piece would lose the line, or read an address cut short. Once the
//     file is rotated away and no longer grows it is a line: at once when
//     it is found compressed or as copytruncate's copy, else when it is
//     dropped from FileState.Prev. [Replay] and `filter test` read files
//     as they are: there a last line is a line, ended or not.
//
// A file is the one remembered only if it was not modified before it was
// last seen and, found by inode, is not compressed: ext4 gives a deleted
// file's inode number to the next file created. A symbolic link is
// followed to the directory and name of the file it points to. Lines are
// passed with the name of the file they were read from and their number in
// it.
//
// What cannot be recovered: lines of a file deleted, or moved out of the
// directory (logrotate's olddir), before they were read; a rotated file
// renamed outside the path's name (logrotate's extension option) or
// compressed with anything but gzip, unless it kept its inode; lines
// written between logrotate's copy and its truncation, a line torn by the
// truncation, and the unended last line of a rotated file; the rotated
// files of a path seen for the first time (history: see replay). Telling
// generations apart relies on their first line (a timestamp) differing and
// on modification times being kept by compression (logrotate and gzip
// keep them); a file truncated and rewritten to the same size within the
// file system's time resolution is noticed when it next grows.
//
// # The journal
//
// Package analyze/journal reads the systemd journal through journalctl.
// Its entries reach the filters as records: a line that reads as a syslog
// record and the header already split from the entry's fields, given to
// the TimeParser with [TimeParser.Preset], so that [TimeParser.Syslog]
// returns it as it is. [Replay] merges such inputs ([RecordSource]) by
// time with the files.
//
// # Filters
//
// A [Filter] names a kind of log (sshd, vsftpd, ...) and makes a [Matcher]
// for each stream it reads. Built-in filters are hand-written parsers: a
// cheap literal test on the program name and the first words of the message
// decides which shape can apply, and only that shape is parsed. The address
// is always taken at a fixed place (after fixed words or at a fixed distance
// from the end of the message), never from text an attacker can choose such
// as a user name, so a crafted user name cannot make logjail ban a third
// party. Where the client's text stands on both sides of the address and
// nothing the client cannot write (the format's length limits and fixed
// words, the same process's earlier lines) tells which place the daemon
// wrote, the line is skipped with the outcome [Ambiguous], never guessed;
// the sshd filter's doc lists the rule for each shape. Custom filters are
// Go regular expressions containing <HOST>.
//
// [NewFail2banFilter] runs filters written for fail2ban with fail2ban's
// semantics ([Fail2banSpec]: the date cut out first, prefregex and
// <F-CONTENT>, unanchored failregexes of which the first that matches
// decides, ignoreregex, fail2ban's tags, <F-MLFID> connections, its
// datepattern codes), translated to RE2 so that they run in time linear in
// the line: what needs backtracking is refused ([UnsupportedError]), never
// run on a slower engine.
//
// [TestFilter] is `logjail filter test`: one filter over files, every
// line's outcome and every failure counted ([TestStats]), the failures
// (JSON Lines) or the missed lines written as they are found.
//
// # Time
//
// A failure's time is the line's own timestamp. Timestamps without a year
// take it from a reference time (see [TimeParser]).
package analyze
