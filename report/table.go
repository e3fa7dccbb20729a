package report

import (
	"io"

	"github.com/olekukonko/tablewriter"
)

// Table writes rows under header as a plain-text table: headers centred,
// cells left-aligned, columns split by │, the header underlined.
//
// tablewriter is held at v0.0.5: from v1.1.2 on its width package makes an
// 8,192-entry cache at package init (663 KB, a sixth of the page faults of
// every logjail start, `version` and the cron run included), and v1.0.x
// caches every cell's width without bound (a status of 100,000 bans keeps
// them all). v0.0.5 needs only go-runewidth and renders a 100,000-row table
// with a fifth of the allocations.
func Table(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewWriter(w)
	t.SetBorders(tablewriter.Border{})
	t.SetAutoFormatHeaders(false)
	t.SetAutoWrapText(false)
	t.SetHeaderLine(true)
	t.SetColumnSeparator("│")
	t.SetRowSeparator("─")
	t.SetCenterSeparator("┼")
	t.SetAlignment(tablewriter.ALIGN_LEFT)
	t.SetHeader(header)
	t.AppendBulk(rows)
	t.Render()
	return nil
}
