package journal

// defaults are the built-in filters' journal matches: by _COMM, the
// process name the kernel gives journald, which a client cannot forge
// (`logger -t sshd` sets SYSLOG_IDENTIFIER=sshd, with _COMM=logger).
// Filters not listed (apache-auth, nginx-http-auth, dovecot) usually log
// to files of their own, or under process names that say too little: a
// jail reading them from the journal writes its journal.match.
var defaults = map[string]struct{ match, units []string }{
	// OpenSSH 9.8 split sshd: sshd-session logs the failures, sshd-auth
	// (10.0) too when the privilege separation child does.
	"sshd":      {[]string{"_COMM=sshd", "_COMM=sshd-session", "_COMM=sshd-auth"}, []string{"ssh.service", "sshd.service"}},
	"vsftpd":    {[]string{"_COMM=vsftpd"}, []string{"vsftpd.service"}},
	"proftpd":   {[]string{"_COMM=proftpd"}, []string{"proftpd.service"}},
	"pure-ftpd": {[]string{"_COMM=pure-ftpd"}, []string{"pure-ftpd.service"}},
	"postfix":   {[]string{"_COMM=smtpd"}, []string{"postfix.service", "postfix@-.service"}},
}

// DefaultMatch returns the journal match of the built-in filter called
// name, nil when it has none.
func DefaultMatch(name string) []string {
	return append([]string(nil), defaults[name].match...)
}

// DefaultUnits returns the systemd units a built-in filter's programs run
// in, whose rate-limit notices concern it.
func DefaultUnits(name string) []string {
	return append([]string(nil), defaults[name].units...)
}
