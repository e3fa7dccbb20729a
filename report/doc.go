// Package report formats what logjail found for people and programs:
// tables (github.com/olekukonko/tablewriter), the JSON documents the
// contract fixes (run --dry-run, status), and later the replay reports and
// the digest mail. It decides nothing: callers hand it plain rows.
package report
