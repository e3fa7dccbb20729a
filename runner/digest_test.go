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
	"logjail/mail"
	"logjail/state"
)

// fakeMailer records what it is given; fail makes it refuse.
type fakeMailer struct {
	sent []*mail.Message
	fail error
	// tries counts the calls of Send, failed ones too.
	tries int
	// during runs inside Send, as if something happened meanwhile.
	during func()
}

func (f *fakeMailer) Server() string { return "fake server" }

func (f *fakeMailer) Send(_ context.Context, m *mail.Message) error {
	f.tries++
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
	send := func(m mail.Mailer, now time.Time, force bool) (*DigestOutcome, error) {
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
	// A run a few seconds short of digest.every still sends: cron starts
	// its minutes a moment late, sometimes less late than the last time.
	if out, _ := send(m, digestNow.Add(time.Hour-5*time.Second), false); !out.Sent {
		t.Errorf("a run 5 s short of digest.every held the digest: %+v", out)
	}
	add("192.0.2.5")
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
	if err == nil || out.Sent || !strings.HasSuffix(err.Error(), "451 try later; 1 event kept, the next try at 2026-11-24T17:01:00Z") {
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

func TestBackoff(t *testing.T) {
	minute := time.Minute
	for _, c := range []struct {
		every time.Duration
		want  []time.Duration // after 1, 2, ... failures
	}{
		{time.Hour, []time.Duration{minute, 2 * minute, 4 * minute, 8 * minute, 16 * minute, 32 * minute, time.Hour, time.Hour, time.Hour}},
		{24 * time.Hour, []time.Duration{minute, 2 * minute, 4 * minute, 8 * minute, 16 * minute, 32 * minute, time.Hour, time.Hour}},
		{10 * minute, []time.Duration{minute, 2 * minute, 4 * minute, 8 * minute, 10 * minute, 10 * minute}},
		{30 * time.Second, []time.Duration{30 * time.Second, 30 * time.Second}},
	} {
		for i, want := range c.want {
			if got := Backoff(i+1, c.every); got != want {
				t.Errorf("every %s, after %d failures: backoff %s, want %s", c.every, i+1, got, want)
			}
		}
	}
	if got := Backoff(0, time.Hour); got != 0 {
		t.Errorf("no failure: backoff %s", got)
	}
	if got := Backoff(1000, time.Hour); got != time.Hour {
		t.Errorf("after 1000 failures: backoff %s, want the cap", got)
	}
}

// TestDigestBackoff: after a failed delivery the digest is tried again
// a minute later, then 2, 4, 8, 16, 32 minutes after the last failure,
// then every hour; a run in between neither tries nor fails, and says
// when the next try is. Success forgets the failures, a clock gone back
// and the digest command (Force) ignore the backoff, a disabled digest
// forgets them.
func TestDigestBackoff(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, nil, 0o644)
	cfg := digestConfig(t, true, log)
	db := openDB(t)
	if err := db.Update(func(tx *state.Tx) error {
		return tx.AddEvent(&state.Event{Kind: state.EventWarning, Time: digestNow, Text: "w"})
	}); err != nil {
		t.Fatal(err)
	}
	m := &fakeMailer{fail: errors.New("digest: mail to fake server failed: dial tcp: connection refused")}
	run := func(now time.Time) *Result {
		t.Helper()
		res, err := Run(context.Background(), db, Options{Config: cfg, Now: now, Mailer: m, Host: "h"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	failure := func() (state.DigestFailure, bool) {
		var f state.DigestFailure
		var ok bool
		db.View(func(tx *state.Tx) error { f, ok = tx.DigestFailure(); return nil })
		return f, ok
	}
	// tried runs at now and checks that it tried and failed, the n-th
	// time in a row, and that the error names the next try.
	tried := func(now time.Time, n int, next time.Duration) {
		t.Helper()
		before := m.tries
		res := run(now)
		if m.tries != before+1 || res.DigestErr == nil || len(res.Problems) != 1 {
			t.Fatalf("%s: tries %d→%d, error %v: want one failed try", now.Format(time.TimeOnly), before, m.tries, res.DigestErr)
		}
		if want := "; 1 event kept, the next try at " + now.Add(next).Format(time.RFC3339); !strings.HasSuffix(res.DigestErr.Error(), want) {
			t.Errorf("%s: error %q, want it to end in %q", now.Format(time.TimeOnly), res.DigestErr, want)
		}
		if f, ok := failure(); !ok || f.Count != n || !f.Last.Equal(now) || !f.Since.Equal(digestNow) ||
			f.Err != "mail to fake server failed: dial tcp: connection refused" {
			t.Fatalf("%s: failure record %+v %v, want %d in a row since %s", now.Format(time.TimeOnly), f, ok, n, digestNow.Format(time.TimeOnly))
		}
	}
	// held runs at now and checks that it did not try and did not fail,
	// and said when it will.
	held := func(now, next time.Time, n int) {
		t.Helper()
		before := m.tries
		res := run(now)
		if m.tries != before || res.DigestErr != nil || len(res.Problems) != 0 {
			t.Fatalf("%s: tried within the backoff (tries %d→%d, error %v, problems %v)", now.Format(time.TimeOnly), before, m.tries, res.DigestErr, res.Problems)
		}
		want := fmt.Sprintf("the next try is at %s: %d failed deliver", next.Format(time.RFC3339), n)
		if d := res.Digest; d == nil || d.Sent || !strings.HasPrefix(d.NotDue, want) || !d.Retry.Equal(next) ||
			!strings.HasSuffix(d.NotDue, " since 2026-11-24T12:00:00Z, the last: mail to fake server failed: dial tcp: connection refused") {
			t.Fatalf("%s: outcome %+v, want not due saying %q...", now.Format(time.TimeOnly), d, want)
		}
		if f, _ := failure(); f.Count != n {
			t.Fatalf("%s: a run within the backoff changed the count to %d", now.Format(time.TimeOnly), f.Count)
		}
	}

	tried(digestNow, 1, time.Minute)
	held(digestNow.Add(30*time.Second), digestNow.Add(time.Minute), 1)
	last := digestNow
	schedule := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour, time.Hour}
	for i, wait := range schedule[:len(schedule)-1] {
		next := last.Add(wait)
		held(next.Add(-cronSlack-time.Second), next, i+1)
		// cron starts this run a moment earlier after the minute than
		// the failed one: it is still the retry.
		now := next.Add(-time.Second)
		tried(now, i+2, schedule[i+1])
		last = now
	}
	if f, _ := failure(); f.Count != len(schedule) {
		t.Fatalf("%d failures recorded, want %d", f.Count, len(schedule))
	}

	// The digest command tries within the backoff, and a failure counts.
	before := m.tries
	out, err := SendDigest(context.Background(), db, DigestOptions{Config: cfg, Now: last.Add(time.Minute), Host: "h", Mailer: m, Force: true})
	if m.tries != before+1 || err == nil || out.Sent {
		t.Fatalf("forced digest within the backoff: %+v %v", out, err)
	}
	last = last.Add(time.Minute)
	// A clock gone back before the last failure is due.
	before = m.tries
	if res := run(last.Add(-time.Hour)); m.tries != before+1 || res.DigestErr == nil {
		t.Fatalf("a clock gone back holds the digest: %+v", res.Digest)
	}
	last = last.Add(-time.Hour)

	// The server is back: the try after the backoff delivers, and the
	// failures are forgotten; the next failure waits a minute again.
	m.fail = nil
	held(last.Add(30*time.Minute), last.Add(time.Hour), len(schedule)+2)
	if res := run(last.Add(time.Hour)); !res.Digest.Sent || len(m.sent) != 1 || len(res.Problems) != 0 {
		t.Fatalf("after the backoff: %+v %v", res.Digest, res.Problems)
	}
	if f, ok := failure(); ok {
		t.Fatalf("a delivered digest left the failure record %+v", f)
	}
	if len(outbox(t, db)) != 0 {
		t.Fatal("the delivered events are still in the outbox")
	}

	// A new failure waits a minute again; turning the digest off
	// forgets it.
	m.fail = errors.New("digest: mail to fake server failed: 451 try later")
	db.Update(func(tx *state.Tx) error {
		return tx.AddEvent(&state.Event{Kind: state.EventWarning, Time: digestNow, Text: "w2"})
	})
	now := last.Add(3 * time.Hour)
	if res := run(now); res.DigestErr == nil || !strings.HasSuffix(res.DigestErr.Error(), "the next try at "+now.Add(time.Minute).Format(time.RFC3339)) {
		t.Fatalf("a new failure after a delivery: %v", res.DigestErr)
	}
	if _, err := Run(context.Background(), db, Options{Config: digestConfig(t, false, log), Now: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if f, ok := failure(); ok {
		t.Fatalf("the digest turned off, the failure record stays: %+v", f)
	}
}

// TestRunOutboxTop: of many addresses the failures event keeps the
// busiest maxOffenders, most failures first, ties by address.
func TestRunOutboxTop(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	var lines []string
	// address i fails i%4+1 times: 40 addresses
	for i := 1; i <= 40; i++ {
		for k := 0; k < i%4+1; k++ {
			lines = append(lines, fmt.Sprintf("Nov 24 11:%02d:%02d h sshd[%d]: Failed password for u%d from 198.51.100.%d port 22 ssh2", i, k, i, k, i))
		}
	}
	os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	db := openDB(t)
	if _, err := Run(context.Background(), db, Options{Config: digestConfig(t, true, log), Now: digestNow}); err != nil {
		t.Fatal(err)
	}
	var f *state.Event
	for _, e := range outbox(t, db) {
		if e.Kind == state.EventFailures {
			f = &e
		}
	}
	if f == nil || len(f.Top) != maxOffenders {
		t.Fatalf("failures event %+v: want the top %d", f, maxOffenders)
	}
	// 4 failures: addresses 3, 7, 11, ..., 39 (10 of them), by address
	for i, o := range f.Top {
		want := fmt.Sprintf("198.51.100.%d/32", 3+4*i)
		if o.Prefix.String() != want || o.Failures != 4 || strings.Join(o.Users, ",") != "u0,u1,u2,u3" {
			t.Errorf("top %d: %s %d %v, want %s 4 [u0 u1 u2 u3]", i, o.Prefix, o.Failures, o.Users, want)
		}
	}
}
