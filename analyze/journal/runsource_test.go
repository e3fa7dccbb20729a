package journal

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"logjail/analyze"
)

// TestRunSource: the lines a RunSource hands over read, through the sshd
// filter's own syslog parser, as the entries' headers do; a second read
// from the returned position hands over only what is new; a failing
// journalctl hands over nothing and keeps the position.
func TestRunSource(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "a.journal")
	writeJournal(t, j, sshFail(1, "sshd", "192.0.2.1"), sshFail(2, "sshd-session", "2001:db8::7"))
	rs := &RunSource{Source: dirSource(dir), Now: t0}
	f, _ := analyze.Builtin("sshd")
	m := f.New("")
	tp := analyze.NewTimeParser(t0, nil)
	var got []string
	collect := func(file string, num int64, line []byte) error {
		fails, _ := m.Match(nil, num, line, tp)
		for _, f := range fails {
			got = append(got, f.Addr.String()+"@"+f.Time.UTC().Format(time.RFC3339))
		}
		return nil
	}
	pos, err := rs.Read(context.Background(), nil, collect)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.1@2026-11-24T10:00:01Z", "2001:db8::7@2026-11-24T10:00:02Z"}; !slices.Equal(got, want) {
		t.Fatalf("first read: %v, want %v", got, want)
	}
	if rs.Key() != "journal:files:"+filepath.Join(dir, "*.journal") {
		t.Errorf("key %q", rs.Key())
	}
	writeJournal(t, j, sshFail(3, "sshd", "192.0.2.3"))
	got = nil
	bad := &RunSource{Source: dirSource(dir), Now: t0}
	bad.Source.Command = "false"
	if p, err := bad.Read(context.Background(), pos, collect); err == nil || p != nil || len(got) != 0 {
		t.Fatalf("failing journalctl: pos %s err %v handed %v", p, err, got)
	}
	if _, err := rs.Read(context.Background(), pos, collect); err != nil || !slices.Equal(got, []string{"192.0.2.3@2026-11-24T10:00:03Z"}) {
		t.Fatalf("second read: %v %v", got, err)
	}
}
