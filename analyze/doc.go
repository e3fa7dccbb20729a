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
// # Filters
//
// A [Filter] names a kind of log (sshd, vsftpd, ...) and makes a [Matcher]
// for each stream it reads. Built-in filters are hand-written parsers: a
// cheap literal test on the program name and the first words of the message
// decides which shape can apply, and only that shape is parsed. The address
// is always taken at a fixed place (after fixed words or at a fixed distance
// from the end of the message), never from text an attacker can choose such
// as a user name, so a crafted user name cannot make logjail ban a third
// party. Custom filters are Go regular expressions containing <HOST>.
//
// # Time
//
// A failure's time is the line's own timestamp. Timestamps without a year
// take it from a reference time (see [TimeParser]).
package analyze
