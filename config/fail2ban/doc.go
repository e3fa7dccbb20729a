// Package fail2ban reads a fail2ban configuration directory the way
// fail2ban's own client does, so that logjail can take it over.
//
// It implements fail2ban's configuration language: Python configparser
// files (key = value, indented continuation lines, # and ; comments,
// [DEFAULT]), fail2ban's [INCLUDES] before/after, .local files and
// NAME.d/ directories read after each .conf, %(name)s interpolation
// (with known/NAME for the value a later file replaced and SECTION/NAME),
// a filter's [Init] values and the jail's filter = name[key=value]
// options, and <name> tags replaced until nothing changes (the mode of a
// filter is one such tag). Read returns every jail with its options
// resolved and where each was written, and every problem found, each with
// its file and line. [Convert] turns the enabled jails into logjail's
// configuration; [ImportDir], which `logjail config import-fail2ban`
// calls, does both and checks the result with logjail's own parser.
//
// Nothing of fail2ban is part of this package: it reads the files of an
// installed fail2ban at run time.
package fail2ban
