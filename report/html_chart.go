package report

import (
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// The charts are laid out here in viewBox units and drawn by the
// template. A viewBox lets each SVG scale to the width of its column, so
// the sizes below are proportions, not pixels; the page's style enlarges
// the timeline's text on narrow screens, where the chart shrinks most, and
// hides every other date label there (class "minor").

// coord is a position or length in a chart's viewBox units, printed with
// at most two decimals.
type coord float64

func (c coord) String() string {
	v := math.Round(float64(c)*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Timeline geometry: a plot of failures, below it a lane of bans, below
// that the date labels. The margins leave room for the enlarged text of
// narrow screens.
const (
	tlWidth      = 800
	tlHeight     = 300
	tlLeft       = 64
	tlRight      = 784
	tlTop        = 22
	tlPlotBottom = 208
	tlLaneTop    = 220
	tlLaneBottom = 254
	tlLabelY     = 262
	// A date label's letters are at most this wide at the text size of
	// wide screens (13) and of narrow ones (24).
	tlCharWide   = 8
	tlCharNarrow = 13
)

// timelineChart is the failures-and-bans-over-time chart.
type timelineChart struct {
	Label                                             string
	W, H                                              coord
	Left, Right, Top, PlotBottom, LaneTop, LaneBottom coord
	// LaneMid is where the lane's name is written.
	LaneMid coord
	YTicks  []yTick
	Fails   []tlBar
	Bans    []tlBar
	XTicks  []xTick
	// BanMax is the number of bans of the fullest lane mark.
	BanMax string
}

type yTick struct {
	Y    coord
	Text string
}

type tlBar struct {
	X, Y, W, H coord
	Tip        string
}

type xTick struct {
	X, Y  coord
	Text  string
	Minor bool
}

// newTimeline lays out the buckets, placed by their start time so a gap
// in the timeline stays a gap; nil when there is none.
func newTimeline(bs []Bucket, step time.Duration, loc *time.Location) *timelineChart {
	if len(bs) == 0 {
		return nil
	}
	t0 := bs[0].Start
	idx := make([]int, len(bs))
	n := 0
	var maxF, maxB int64
	for i, b := range bs {
		k := i
		if step > 0 {
			// Rounded: a day bucket across a clock change lasts 23 or 25 hours.
			k = int(math.Round(float64(b.Start.Sub(t0)) / float64(step)))
		}
		k = max(k, 0, n-1) // never out of order
		idx[i], n = k, k+1
		maxF, maxB = max(maxF, b.Failures), max(maxB, b.Bans)
	}
	c := &timelineChart{
		W: tlWidth, H: tlHeight, Left: tlLeft, Right: tlRight, Top: tlTop,
		PlotBottom: tlPlotBottom, LaneTop: tlLaneTop, LaneBottom: tlLaneBottom,
		LaneMid: (tlLaneTop + tlLaneBottom) / 2,
		BanMax:  thousands(maxB),
	}
	per := stepName(step)
	c.Label = "Failures (bars above) and bans (marks below) per " + per + ", " +
		nounCount(int64(n), per, per+"s")

	yStep := niceStep(float64(maxF) / 4)
	top := max(yStep*math.Ceil(float64(maxF)/yStep), 1)
	plotH := float64(tlPlotBottom - tlTop)
	for v := 0.0; v <= top; v += yStep {
		c.YTicks = append(c.YTicks, yTick{coord(tlPlotBottom - v/top*plotH), axisNumber(v)})
	}

	slot := float64(tlRight-tlLeft) / float64(n)
	barW := slot
	if slot >= 4 {
		barW = slot * 0.8 // a gap between bars wide enough to see
	}
	barW = min(max(barW, 1), 48) // visible, and no slab for a single bucket
	laneH := float64(tlLaneBottom - tlLaneTop)
	for i, b := range bs {
		x := coord(tlLeft + (float64(idx[i])+0.5)*slot - barW/2)
		tip := newHTMLTime(b.Start, loc).Text + ": " + nounCount(b.Failures, "failure", "failures") +
			", " + nounCount(b.Bans, "ban", "bans")
		if b.Failures > 0 {
			h := max(float64(b.Failures)/top*plotH, 1)
			c.Fails = append(c.Fails, tlBar{x, coord(tlPlotBottom - h), coord(barW), coord(h), tip})
		}
		if b.Bans > 0 {
			h := max(float64(b.Bans)/float64(maxB)*laneH, 3)
			c.Bans = append(c.Bans, tlBar{x, coord(tlLaneBottom - h), coord(barW), coord(h), tip})
		}
	}

	layout := "2006-01-02"
	if step < 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	// As many labels as fit side by side on a wide screen; a narrow one
	// shows every other, and none that would stick out of the chart.
	longest := float64(len(time.Date(2026, 12, 30, 23, 0, 0, 0, time.UTC).Format(layout)))
	every := tickEvery(n, step, int((tlRight-tlLeft)/(longest*tlCharWide+16)))
	for j, i := 0, firstTick(n, every, step, t0, loc); i < n; i += every {
		x := tlLeft + (float64(i)+0.5)*slot
		text := slotStart(bs, idx, i, step, t0).In(loc).Format(layout)
		letters := float64(utf8.RuneCountInString(text))
		wide, narrow := letters*tlCharWide/2, letters*tlCharNarrow/2
		if x < wide || x > tlWidth-wide {
			continue
		}
		minor := j%2 == 1 || x < narrow || x > tlWidth-narrow
		c.XTicks = append(c.XTicks, xTick{coord(x), tlLabelY, text, minor})
		j++
	}
	return c
}

// tickSpans are the intervals between date labels: the shortest that
// leaves few enough labels is taken.
var tickSpans = []time.Duration{
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour,
	28 * 24 * time.Hour, 91 * 24 * time.Hour, 182 * 24 * time.Hour, 364 * 24 * time.Hour,
}

// tickEvery says every how many buckets a date is written.
// tickEvery says every how many of n buckets a date is written for at
// most labels dates.
func tickEvery(n int, step time.Duration, labels int) int {
	labels = max(labels, 1)
	if step > 0 {
		for _, d := range tickSpans {
			if d >= step && d%step == 0 {
				if k := int(d / step); (n+k-1)/k <= labels {
					return k
				}
			}
		}
	}
	return max((n+labels-1)/labels, 1)
}

// firstTick is the first bucket labelled: with hourly buckets, one on a
// round hour (a multiple of the label interval, or midnight when labels
// are days apart), so labels read 00:00 06:00 12:00 rather than 05:00
// 11:00 17:00.
func firstTick(n, every int, step time.Duration, t0 time.Time, loc *time.Location) int {
	const day = 24 * time.Hour
	if step <= 0 || step >= day || day%step != 0 || step%time.Hour != 0 {
		return 0
	}
	period := time.Duration(every) * step
	hours, limit := 24, int(day/step)
	if period < day && day%period == 0 {
		hours, limit = int(period/time.Hour), every
	}
	for i := 0; i < min(limit, n); i++ {
		t := t0.Add(time.Duration(i) * step).In(loc)
		if t.Hour()%hours == 0 && t.Minute() == 0 {
			return i
		}
	}
	return 0
}

// slotStart is when slot i of the timeline starts: its bucket's start, or
// for a gap, counted from the first.
func slotStart(bs []Bucket, idx []int, i int, step time.Duration, t0 time.Time) time.Time {
	if j := sort.SearchInts(idx, i); j < len(idx) && idx[j] == i {
		return bs[j].Start
	}
	if step%(24*time.Hour) == 0 {
		return t0.AddDate(0, 0, i*int(step/(24*time.Hour)))
	}
	return t0.Add(time.Duration(i) * step)
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten, at least 1.
func niceStep(x float64) float64 {
	if x <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5} {
		if x <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// axisNumber writes an axis value short: 950, 12k, 1.5M.
func axisNumber(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Bar chart geometry: each row is a name with its value at the right end
// of the line, and the bar below it, so names get the whole width.
const (
	barWidth  = 400
	barRowH   = 36
	barTextY  = 15
	barY      = 21
	barThick  = 10
	barChar   = 8.4 // average letter width at the charts' 14 units
	barMargin = 12  // between a name and its value
)

// barChart is a horizontal bar chart, one row a bar.
type barChart struct {
	Label string
	W, H  coord
	Rows  []barRow
}

type barRow struct {
	Name, Value, Tip string
	TextY, BarY      coord
	BarW, BarH       coord
}

// barItem is one bar to draw: Name is already clean.
type barItem struct {
	Name  string
	Value int64
	Tip   string
}

// newBarChart lays out items, longest bar first as given; nil when there
// are none.
func newBarChart(label string, items []barItem) *barChart {
	if len(items) == 0 {
		return nil
	}
	var top int64 = 1
	for _, it := range items {
		top = max(top, it.Value)
	}
	c := &barChart{Label: label, W: barWidth, H: coord(len(items)*barRowH + 4)}
	for i, it := range items {
		value := thousands(it.Value)
		room := int((barWidth - barMargin - float64(len(value))*barChar) / barChar)
		y := float64(i * barRowH)
		c.Rows = append(c.Rows, barRow{
			Name: ellipsis(it.Name, room), Value: value, Tip: it.Tip,
			TextY: coord(y + barTextY), BarY: coord(y + barY),
			BarW: coord(max(float64(it.Value)/float64(top)*barWidth, 2)), BarH: barThick,
		})
	}
	return c
}

// ellipsis cuts s to at most n runes, the last an ellipsis when cut.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}
