package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/config"
)

// TestReplayWhatIf: the what-if in-process. With maxretry=2 the address
// failing twice is banned only by the what-if, the one failing three
// times by both; with mode=aggressive (a filter change: a second pass)
// the comparison still holds; a bad override is a usage error.
func TestReplayWhatIf(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var text strings.Builder
	for i, a := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "198.51.100.2", "198.51.100.2"} {
		text.WriteString(sshdFail(t0.Add(time.Duration(i)*time.Second), a))
	}
	os.WriteFile(log, []byte(text.String()), 0o644)
	load := func() *config.Config { return testConfig(t, log) } // maxretry 3
	for _, sets := range [][]string{{"maxretry=2"}, {"maxretry=2", "mode=aggressive"}} {
		rep, err := Replay(context.Background(), load(), load(), ReplayOptions{Files: []string{log}, Sets: sets, Ref: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		w := rep.WhatIf
		if w == nil || w.Bans != 1 || len(w.OnlyWhatIf) != 1 || w.OnlyWhatIf[0].Prefix.Addr().String() != "198.51.100.2" || len(w.OnlyConfigured) != 0 {
			t.Errorf("%v: what-if %+v, want only 198.51.100.2 added", sets, w)
		}
	}
	rep, err := Replay(context.Background(), load(), nil, ReplayOptions{Files: []string{log}, Ref: t0.Add(time.Hour)})
	if err != nil || rep.WhatIf != nil || len(rep.Bans) != 1 {
		t.Errorf("without --set: %v, what-if %v, %d bans", err, rep.WhatIf, len(rep.Bans))
	}
	if _, err := Replay(context.Background(), load(), load(), ReplayOptions{Files: []string{log}, Sets: []string{"maxretry"}}); !IsUsage(err) {
		t.Errorf("--set maxretry: %v, want a usage error", err)
	}
}
