package report

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"logjail/internal/testenv"
)

// newBrowser starts a headless chromium with a fresh profile and no
// network chatter of its own; it is closed when the test ends, and a hung
// browser fails the test at the deadline instead of hanging it.
func newBrowser(t *testing.T) context.Context {
	bin := testenv.Tool(t, "chromium")
	profile := t.TempDir() // before the Cleanup below, so removed after the browser exits
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	return bctx
}

// renderedPage is what the browser reports of a loaded page.
type renderedPage struct {
	Charts []struct {
		Section string
		W, H    float64
		Bars    int
		// Flat counts bars with no area.
		Flat int
		// Clipped are the texts that stick out of the chart.
		Clipped []string
		// Ticks are the date labels shown, left to right.
		Ticks []struct{ Left, Right, Height float64 }
	}
	Rows map[string]int
	// FlatRows counts per table the body rows with no area; Sideways
	// lists the tables wider than their box, scrolled sideways inside it.
	FlatRows  map[string]int
	Sideways  []string
	Pwned     bool
	Scripts   int
	Resources int
	// DocWidth is how wide the document scrolls, ViewWidth how wide the
	// viewport is.
	DocWidth, ViewWidth float64
	Text                string
}

const inspectPage = `(() => {
  const charts = [...document.querySelectorAll('svg')].map(s => {
    const r = s.getBoundingClientRect();
    const shown = [...s.querySelectorAll('text')].filter(t => getComputedStyle(t).display !== 'none');
    return {
      section: s.closest('section').id,
      w: r.width, h: r.height,
      bars: s.querySelectorAll('rect').length,
      flat: [...s.querySelectorAll('rect')].filter(b => { const bb = b.getBBox(); return !(bb.width > 0 && bb.height > 0); }).length,
      clipped: shown.filter(t => { const b = t.getBoundingClientRect();
        return b.width == 0 || b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1; }).map(t => t.textContent),
      ticks: shown.filter(t => t.getAttribute('dominant-baseline') == 'hanging').map(t => {
        const b = t.getBoundingClientRect(); return {left: b.left, right: b.right, height: b.height}; }),
    };
  });
  const rows = {}, flatRows = {}, sideways = [];
  for (const t of document.querySelectorAll('table')) {
    rows[t.id] = t.tBodies[0].rows.length;
    flatRows[t.id] = [...t.tBodies[0].rows].filter(r => { const b = r.getBoundingClientRect(); return !(b.width > 0 && b.height > 0); }).length;
    if (t.parentElement.scrollWidth > t.parentElement.clientWidth) sideways.push(t.id);
  }
  return {
    charts, rows, flatRows, sideways,
    pwned: typeof window.__pwned !== 'undefined',
    scripts: document.scripts.length,
    resources: performance.getEntriesByType('resource').length,
    docWidth: document.documentElement.scrollWidth,
    viewWidth: document.documentElement.clientWidth,
    text: document.body.innerText,
  };
})()`

// screenshotDir is where screenshots go: $LOGJAIL_SCREENSHOT_DIR, or a
// temporary directory; never the repository.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("LOGJAIL_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// viewport is a screen the report is looked at on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	phone   = viewport{"phone", 390, 844, true}
	desktop = viewport{"desktop", 1280, 900, false}
)

// load shows the report file at path on screen vp and reports what
// rendered; with shot set, it saves a full-page screenshot there.
func load(t *testing.T, ctx context.Context, path string, vp viewport, shot string) *renderedPage {
	t.Helper()
	emulate := chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(2))
	if vp.mobile {
		emulate = chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(ctx, emulate, chromedp.Navigate("file://"+path)); err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[*renderedPage](inspectPage))
	if err != nil {
		t.Fatalf("inspect %s: %v", path, err)
	}
	if shot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s screenshot: %s", vp.name, shot)
	}
	return page
}

// checkRendered asserts what every page with failures must show on any
// screen: charts of real size with real bars, text inside them, the body
// no wider than the screen, and nothing run or fetched.
func checkRendered(t *testing.T, vp viewport, p *renderedPage) {
	t.Helper()
	if p.Pwned || p.Scripts != 0 {
		t.Errorf("%s: a script ran (__pwned %v, %d scripts)", vp.name, p.Pwned, p.Scripts)
	}
	if p.Resources != 0 {
		t.Errorf("%s: the page fetched %d resources", vp.name, p.Resources)
	}
	if p.DocWidth > p.ViewWidth {
		t.Errorf("%s: the page is %v px wide on a %v px screen", vp.name, p.DocWidth, p.ViewWidth)
	}
	for _, c := range p.Charts {
		if c.W < 200 || c.H < 50 || c.W > float64(vp.width) {
			t.Errorf("%s: %s chart is %vx%v px", vp.name, c.Section, c.W, c.H)
		}
		if c.Bars == 0 || c.Flat != 0 {
			t.Errorf("%s: %s chart has %d bars, %d of them without area", vp.name, c.Section, c.Bars, c.Flat)
		}
		if len(c.Clipped) != 0 {
			t.Errorf("%s: %s chart has labels outside it: %q", vp.name, c.Section, c.Clipped)
		}
		for i, tk := range c.Ticks {
			if tk.Height < 9 {
				t.Errorf("%s: %s chart's date labels are %v px high", vp.name, c.Section, tk.Height)
			}
			if i > 0 && tk.Left < c.Ticks[i-1].Right {
				t.Errorf("%s: %s chart's date labels %d and %d overlap", vp.name, c.Section, i-1, i)
			}
		}
	}
}

func writeReport(t *testing.T, dir, name string, r *Replay) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteReplayHTML(&buf, r, HTMLOptions{Generated: htmlGenerated, Version: "logjail test"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayHTMLChromium(t *testing.T) {
	ctx := newBrowser(t)
	dir := t.TempDir()
	shots := screenshotDir(t)

	// Three days by the hour, more rows than shown, hostile names.
	r := sampleReplay(60, 57, 20, 72)
	r.Files = append(r.Files, ReplayFile{Path: "/var/log/" + strings.Repeat("very-long-directory-name/", 8) + "auth.log"})
	r.IPs[0].Users = hostile
	for i, h := range hostile {
		r.Users[i].Name = h
	}
	path := writeReport(t, dir, "replay.html", r)

	for _, vp := range []viewport{phone, desktop} {
		p := load(t, ctx, path, vp, filepath.Join(shots, "replay-"+vp.name+".png"))
		checkRendered(t, vp, p)
		bars := map[string]int{}
		for _, c := range p.Charts {
			bars[c.Section] = c.Bars
		}
		// 48 hours have failures, 24 of them a ban too.
		if want := map[string]int{"timeline": 72, "addresses": 15, "users": 15}; fmt.Sprint(bars) != fmt.Sprint(want) {
			t.Errorf("%s: bars per chart %v, want %v", vp.name, bars, want)
		}
		want := map[string]int{"jails": 2, "files": 3, "timeline-table": 48, "ips": 50, "ban-table": 50, "user-table": 20}
		if fmt.Sprint(p.Rows) != fmt.Sprint(want) {
			t.Errorf("%s: table rows %v, want %v", vp.name, p.Rows, want)
		}
		for _, s := range []string{"and 10 more addresses", "and 7 more bans", hostile[0], hostile[2]} {
			if !strings.Contains(p.Text, s) {
				t.Errorf("%s: the page does not read %q", vp.name, s)
			}
		}
		if len(p.Charts) > 0 && len(p.Charts[0].Ticks) == 0 {
			t.Errorf("%s: the timeline has no date labels", vp.name)
		}
	}

	// With --set: the what-if section's tables fit a phone without
	// scrolling sideways, long overrides and IPv6 addresses included.
	w := sampleReplay(10, 8, 5, 24)
	w.WhatIf = &WhatIf{Bans: 70, Banned: 65, Set: []string{"maxretry=3", "ignoreip=127.0.0.0/8,10.0.0.0/8,192.168.0.0/16,172.16.0.0/12,fd00::/8", hostile[0]},
		OnlyConfigured: []JailPrefix{
			{"postfix", netip.MustParsePrefix("2001:db8:1234:5678:9abc:def0:1234:5678/128")},
			{"sshd", netip.MustParsePrefix("2001:db8:1:2::/64")},
			{"sshd", netip.MustParsePrefix("192.0.2.9/32")},
		}}
	for i := range 60 {
		w.WhatIf.OnlyWhatIf = append(w.WhatIf.OnlyWhatIf, JailPrefix{"sshd", netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32)})
	}
	whatIf := writeReport(t, dir, "whatif.html", w)
	for _, vp := range []viewport{phone, desktop} {
		p := load(t, ctx, whatIf, vp, filepath.Join(shots, "replay-whatif-"+vp.name+".png"))
		checkRendered(t, vp, p)
		for id, want := range map[string]int{"whatif-counts": 2, "whatif-only": 50, "configured-only": 3} {
			if p.Rows[id] != want || p.FlatRows[id] != 0 {
				t.Errorf("%s: table %s has %d rows, %d of them without area; want %d", vp.name, id, p.Rows[id], p.FlatRows[id], want)
			}
		}
		for _, id := range p.Sideways {
			if strings.HasPrefix(id, "whatif") || id == "configured-only" {
				t.Errorf("%s: table %s scrolls sideways", vp.name, id)
			}
		}
		for _, s := range []string{"What if", "and 10 more addresses", "Banned only with the configured policy (3)", hostile[0]} {
			if !strings.Contains(p.Text, s) {
				t.Errorf("%s: the page does not read %q", vp.name, s)
			}
		}
	}

	// A year by the day: 365 buckets, thin bars that must still show.
	long := sampleReplay(5, 5, 5, 0)
	long.Step = 24 * time.Hour
	for i := range 365 {
		long.Timeline = append(long.Timeline, Bucket{Start: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC), Failures: int64(1 + i%50), Bans: int64(i % 7 / 6)})
	}
	long.From, long.To = long.Timeline[0].Start, long.Timeline[364].Start.Add(23*time.Hour)
	p := load(t, ctx, writeReport(t, dir, "year.html", long), phone, "")
	checkRendered(t, phone, p)

	// No failures: a clear sentence and no chart.
	empty := &Replay{Lines: 5000, Step: time.Hour,
		Files: []ReplayFile{{Path: "/var/log/auth.log", Lines: 5000}},
		Jails: []ReplayJail{{Name: "sshd", MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: 10 * time.Minute}}}
	p = load(t, ctx, writeReport(t, dir, "empty.html", empty), phone, filepath.Join(shots, "replay-empty.png"))
	if len(p.Charts) != 0 || !strings.Contains(p.Text, "No failures found") {
		t.Errorf("empty report: %d charts, text %q", len(p.Charts), p.Text)
	}
	if p.DocWidth > p.ViewWidth {
		t.Errorf("empty report is %v px wide on a %v px screen", p.DocWidth, p.ViewWidth)
	}
}
