package runner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/config"
	"logjail/report"
	"logjail/state"
)

// fakeMailer records what it is given; fail makes it refuse.
type fakeMailer struct {
	sent []*report.Mail
	fail error
	// during runs inside Send, as if something happened meanwhile.
	during func()
}

func (f *fakeMailer) Server() string { return "fake server" }

func (f *fakeMailer) Send(_ context.Context, m *report.Mail) error {
	if f.during != nil {
		f.during()
	}
	if f.fail != nil {
		return f.fail
	}
	f.sent = append(f.sent, m)
	return nil
}

func digestConfig(t *testing.T, enabled bool, logs ...string) *config.Config {
	t.Helper()
	y := fmt.Sprintf("firewall: {backend: none}\njails:\n  sshd:\n    logpath: [%s]\n    maxretry: 3\n", strings.Join(logs, ", "))
	if enabled {
		y += "digest: {to: [ops@example.com], from: lj@example.com, every: 1h}\n"
	}
	cfg, err := config.Parse(strings.NewReader(y), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func outbox(t *testing.T, db *state.DB) []state.Event {
	t.Helper()
	var ev []state.Event
	if err := db.View(func(tx *state.Tx) (err error) { ev, err = tx.Events(); return err }); err != nil {
		t.Fatal(err)
	}
	return ev
}

var digestNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// TestRunOutbox: a run records its bans, its failures per jail with the
// busiest addresses and its new warnings; with the digest disabled it
// records nothing and empties what `ban` left.
func TestRunOutbox(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	var lines []string
	for i, addr := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "10.0.0.1"} {
		lines = append(lines, fmt.Sprintf("Nov 24 11:00:%02d h sshd[1]: Failed password for user%d from %s port 22 ssh2", i, i, addr))
	}
	os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	loop := filepath.Join(dir, "loop.log")
	os.Symlink(loop, loop) // unreadable: a warning
	cfg := digestConfig(t, true, log, loop)
	cfg.Jails[0].IgnoreIP = append(cfg.Jails[0].IgnoreIP, netip.MustParsePrefix("10.0.0.0/8"))
	db := openDB(t)
	if _, err := Run(context.Background(), db, Options{Config: cfg, Now: digestNow}); err != nil {
		t.Fatal(err)
	}
	ev := outbox(t, db)
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "ban failures warning" {
		t.Fatalf("outbox kinds %q, want \"ban failures warning\"", got)
	}
	if !strings.Contains(ev[2].Text, "loop.log") {
		t.Errorf("warning %q", ev[2].Text)
	}
	f := ev[1]
	if f.Counts["sshd"] != 4 || len(f.Top) != 2 || f.Top[0].Prefix.String() != "192.0.2.1/32" || f.Top[0].Failures != 3 ||
		strings.Join(f.Top[0].Users, ",") != "user0,user1,user2" {
		t.Errorf("failures event %+v: want 4 counted (the ignored address left out), 192.0.2.1 first with 3", f)
	}

	// With the digest disabled a run adds nothing and empties the outbox.
	off := digestConfig(t, false, log)
	os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"+strings.Join(lines, "\n")+"\n"), 0o644)
	if _, err := Run(context.Background(), db, Options{Config: off, Now: digestNow.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if ev := outbox(t, db); len(ev) != 0 {
		t.Fatalf("digest disabled, the outbox holds %d events", len(ev))
	}
}

// TestSendDigest: due once digest.every has passed; deletes exactly the
// events it mailed, even when others arrive meanwhile; a failure keeps
// the outbox and the time of the last digest.
func TestSendDigest(t *testing.T) {
	cfg := digestConfig(t, true, "/unused")
	db := openDB(t)
	add := func(ip string) {
		t.Helper()
		err := db.Update(func(tx *state.Tx) error {
			return tx.AddEvent(&state.Event{Kind: state.EventBan, Time: digestNow,
				Ban: &state.Ban{Jail: "sshd", Prefix: netip.MustParsePrefix(ip + "/32"), Start: digestNow, Offense: 1}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	send := func(m report.Mailer, now time.Time, force bool) (*DigestOutcome, error) {
		return SendDigest(context.Background(), db, DigestOptions{Config: cfg, Now: now, Host: "h", Mailer: m, Force: force})
	}
	m := &fakeMailer{}
	if out, err := send(m, digestNow, false); err != nil || out.Sent || len(m.sent) != 0 {
		t.Fatalf("empty outbox: %+v %v", out, err)
	}

	add("192.0.2.1")
	m.during = func() { add("192.0.2.2") } // arrives while the mail goes out
	out, err := send(m, digestNow, false)
	if err != nil || !out.Sent || out.Events != 1 || len(m.sent) != 1 || !strings.Contains(m.sent[0].Text, "192.0.2.1") {
		t.Fatalf("first digest: %+v %v", out, err)
	}
	m.during = nil
	if ev := outbox(t, db); len(ev) != 1 || ev[0].Ban.Prefix.Addr().String() != "192.0.2.2" {
		t.Fatalf("after the digest the outbox holds %+v, want only the event added meanwhile", ev)
	}

	// Not due within digest.every, unless forced or the clock went back.
	if out, _ := send(m, digestNow.Add(59*time.Minute), false); out.Sent || out.NotDue == "" {
		t.Errorf("sent before digest.every passed: %+v", out)
	}
	if out, _ := send(m, digestNow.Add(-time.Hour), false); !out.Sent {
		t.Errorf("a clock gone back holds the digest: %+v", out)
	}
	add("192.0.2.3")
	if out, _ := send(m, digestNow.Add(-time.Hour+time.Minute), true); !out.Sent {
		t.Errorf("forced digest not sent: %+v", out)
	}

	// A failure keeps the outbox and the last digest's time.
	add("192.0.2.4")
	bad := &fakeMailer{fail: errors.New("digest: mail to fake server failed: 451 try later")}
	out, err = send(bad, digestNow.Add(5*time.Hour), false)
	if err == nil || out.Sent || !strings.Contains(err.Error(), "451 try later; 1 event kept for the next run") {
		t.Fatalf("failed delivery: %+v %v", out, err)
	}
	if len(outbox(t, db)) != 1 {
		t.Fatal("a failed delivery emptied the outbox")
	}
	db.View(func(tx *state.Tx) error {
		if last, _ := tx.LastDigest(); !last.Equal(digestNow.Add(-time.Hour + time.Minute)) {
			t.Errorf("last digest %v after a failure", last)
		}
		return nil
	})
	if out, err := send(m, digestNow.Add(5*time.Hour+time.Minute), false); err != nil || !out.Sent || len(outbox(t, db)) != 0 {
		t.Fatalf("retry: %+v %v", out, err)
	}
}
