// Package config reads, checks and writes logjail's YAML configuration.
//
// [Load] reads a file ([DefaultPath] unless told otherwise; with no file
// there, the embedded [Default] serves). [Parse] does the work: it reads
// the YAML as nodes so that every problem carries its line, reports every
// problem it finds (not only the first) in one [*Errors], and returns a
// [Config] whose jails are fully resolved: callers never look at the
// defaults section. [Config.Format] writes the effective configuration back
// as YAML that Parse accepts, and [Config.Set] changes a policy value for
// `replay --set` what-ifs.
//
// # The file
//
//	state: /var/lib/logjail/state.db
//	lock_timeout: 30s
//	history: 30d
//	metrics_file: ""
//	firewall: {backend: iptables, blocktype: DROP, maxelem: 1048576}
//	defaults:                  # any jail setting; a jail's own value wins
//	  bantime: 10m
//	jails:
//	  sshd:                    # the filter defaults to the jail's name
//	    logpath: [/var/log/auth.log, /var/log/secure]
//	    port: ssh
//	digest: {to: [ops@example.com], from: logjail@example.com, every: 1h}
//
// Unknown keys, wrong types and impossible values are errors. A key whose
// value is null (written with nothing after the colon, or ~) counts as not
// set. Anchors, aliases and merge keys (<<: *common) may be used.
//
// # Jails
//
// A jail is named [A-Za-z0-9_-]{1,20}, because its firewall chain is
// called logjail-NAME and iptables allows 28 bytes. Its settings, with the
// value used when neither the jail nor the defaults section sets them:
//
//	enabled            true (so a jail written in the file runs)
//	filter             the jail's name, which must then be a built-in
//	                   filter; or {failregex: [...], ignoreregex: [...]}:
//	                   Go regular expressions, each failregex holding
//	                   <HOST> once and <USER> at most once; or
//	                   {style: fail2ban, prefregex, failregex, ignoreregex,
//	                   datepattern, maxlines}: fail2ban's semantics and
//	                   tags on RE2 (analyze.Fail2banSpec); the package
//	                   config/fail2ban imports a fail2ban configuration
//	mode               the filter's first mode (see logjail filter list)
//	logpath            none; an enabled jail needs one, or a journal.
//	                   Absolute paths or glob patterns, expanded at each
//	                   run (Jail.Files)
//	journal            none. {match, directory, files, namespace}: read the
//	                   systemd journal (the local one unless one of the
//	                   last three is set; at most one may be). match holds
//	                   journalctl match terms, by default the filter's own
//	                   (sshd: _COMM=sshd, _COMM=sshd-session, _COMM=sshd-auth);
//	                   a filter without one needs it written. journal: {}
//	                   reads the local journal with the filter's match.
//	port               all. Service names (ssh, http, smtp, ...), numbers,
//	                   ranges 1000:2000, as a list or "ssh,http"
//	protocol           tcp (tcp or udp)
//	bantime            10m, or permanent
//	findtime           10m
//	maxretry           5
//	ignoreip           [127.0.0.0/8, "::1"]; addresses or CIDRs, never host
//	                   names. A jail's list replaces the defaults' list.
//	start              beginning (or end): where a new log file, or a
//	                   journal read for the first time, is read from
//	ban_prefix6        128; 64 bans an IPv6 attacker's whole /64
//	count_prefix6      64: IPv6 failures also count in their /64, banned
//	                   as a whole at maxretry; 128 turns this off
//	bantime_increment  {enabled: false, factor: 2, maxtime: 1w}; each of
//	                   the three is inherited on its own
//
// With the iptables and ipset backends a jail's ports must fit one
// iptables multiport match: 15 ports, a range counting as two.
//
// # Durations
//
// Durations are Go durations (90s, 1h30m) with two more units, d (24h) and
// w (7d): 1d, 2w, 1d12h. A bare number has no unit and is refused: write
// 600s, not 600. bantime may also be "permanent": the jail's Permanent
// field is then true and BanTime zero; ask Jail.BanDuration rather than
// reading the fields.
//
// # Digest
//
// No digest is sent until digest.to is set; from is needed then; every
// (1h) is the least time between two digests. Mail goes through
// digest.sendmail when set (an absolute path), else to the SMTP server.
// smtp.starttls is auto (upgrade when offered; the certificate is checked
// only when a username is set), always (refuse to send without it, the
// certificate checked), never, or tls: implicit TLS from the first byte
// (SMTPS), which makes the default port 465 instead of 25. A username
// needs a password_file (relative paths are taken from the configuration
// file's directory), whose first line is the password, so that no secret
// sits in the config file; when mailing, a password file that its group
// may write or others may read is refused.
//
// # Firewall
//
// backend is iptables, ipset, nftables or none (record bans, enforce
// nothing); blocktype DROP or REJECT. maxelem caps an ipset or nftables
// set, by default 1048576 (2^20): the kernel's 65536 is low enough for a
// botnet to fill.
//
// # Fleet
//
// fleet.dsn (a libpq key=value string or postgres:// URL, never with a
// password: one is refused with its line) makes the host share its bans,
// and with share: failures (default bans) its failure counts, through
// PostgreSQL. password_file (relative to the configuration's directory)
// holds the password on its first line, read at each run and refused
// when group or others may read it. host (default: the machine's name;
// 1 to 63 letters, digits, '.', '-', '_') names the host and its
// database role. jails lists the taking-part jails, manual included
// (default: every enabled jail and manual); each must be configured.
// max_bans (10000, at least 1) caps the fleet's bans one run takes;
// timeout (5s) bounds the run's exchange. For TLS write
// sslmode=verify-full and sslrootcert=CA-FILE in the dsn.
package config
