// Package report formats what logjail found for people and programs:
// tables (github.com/olekukonko/tablewriter); the JSON documents the
// contract fixes (run --dry-run, status, replay); the replay report as a
// table, JSON, CSV or one self-contained HTML page with inline SVG charts;
// and the digest mail, composed and delivered over SMTP or sendmail. It
// decides nothing: callers hand it what the engine found.
package report
