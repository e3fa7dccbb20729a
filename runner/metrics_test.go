package runner

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/enforce"
)

// TestWriteMetrics: the run's refusals are exported per jail, a run
// without problems is a success, and a metrics file that cannot be
// written is an error, also for a failed run.
func TestWriteMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "auth.log"))
	cfg.MetricsFile = filepath.Join(dir, "metrics.prom")
	db := openDB(t)
	// A ban the guard refuses, recorded without it (as by an older
	// version): the firewall step refuses it at every run.
	mustBan(t, db, BanOptions{Config: cfg, Now: banNow, Targets: []netip.Prefix{pfx("127.0.0.9")}})
	fw, err := enforce.New("none", enforce.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := banNow.Add(time.Minute)
	res, err := Run(context.Background(), db, Options{Config: cfg, Now: now, Firewall: fw})
	if err != nil {
		t.Fatal(err)
	}
	if res.Firewall == nil || len(res.Firewall.Refused) != 1 {
		t.Fatalf("firewall step: %+v", res.Firewall)
	}
	if err := WriteMetrics(db, cfg, res, time.Second, now); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(cfg.MetricsFile)
	for _, want := range []string{`logjail_bans_refused{jail="manual"} 1`, `logjail_bans_refused{jail="sshd"} 0`, "logjail_last_success_timestamp_seconds 1795521660"} {
		if !strings.Contains(string(data), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, data)
		}
	}
	cfg.MetricsFile = filepath.Join(dir, "no-such-dir", "metrics.prom")
	if err := WriteMetrics(db, cfg, nil, time.Second, now); err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("unwritable metrics file: %v", err)
	}
}
