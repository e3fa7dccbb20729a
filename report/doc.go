// Package report formats what logjail found for people and programs:
// tables (github.com/olekukonko/tablewriter); the JSON documents the
// contract fixes (run --dry-run, status, replay); the replay report as a
// table, JSON, CSV or one self-contained HTML page with inline SVG charts;
// the Prometheus metrics text; and the digest, composed into a
// mail.Message (logjail-net delivers it: package mail/deliver). It
// decides nothing: callers
// (package runner) hand it what was found and decided.
package report
