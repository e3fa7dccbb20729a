package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"logjail/analyze"
)

func TestReadMatchAndFields(t *testing.T) {
	dir := t.TempDir()
	forged := tEntry{Time: t0.Add(3 * time.Second), Comm: "logger", Ident: "sshd", PID: 77,
		Msg: "Failed password for root from 198.51.100.66 port 22 ssh2"}
	multi := tEntry{Time: t0.Add(4 * time.Second), Comm: "sshd", Ident: "sshd", PID: 9,
		Msg: "first line\nFailed password for root from 198.51.100.77 port 22 ssh2"}
	bin := tEntry{Time: t0.Add(5 * time.Second), Comm: "sshd", Ident: "sshd", PID: 9,
		Msg: "Invalid user \x01\xff from 192.0.2.5 port 22"}
	writeJournal(t, filepath.Join(dir, "a.journal"),
		sshFail(1, "sshd", "192.0.2.1"), sshFail(2, "sshd-session", "192.0.2.2"), forged, multi, bin)
	src := dirSource(dir)
	var got []string
	var lines []string
	tp := analyze.NewTimeParser(t0, nil)
	f, _ := analyze.Builtin("sshd")
	m := f.New("")
	var fails []analyze.Failure
	var h analyze.Header
	var buf []byte
	res, err := Read(context.Background(), src, ReadOptions{}, func(e *Entry) error {
		got = append(got, string(e.Message()))
		buf = e.AppendRecord(buf[:0], &h)
		lines = append(lines, string(buf))
		tp.Preset(&h)
		fails, _ = m.Match(fails, e.Num, buf, tp)
		tp.Preset(nil)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sshFail(1, "", "192.0.2.1").Msg, sshFail(2, "", "192.0.2.2").Msg, multi.Msg, bin.Msg}
	if !slices.Equal(got, want) {
		t.Fatalf("messages:\n got %q\nwant %q", got, want)
	}
	if res.Entries != 4 || res.Pos.Seqnum != 5 || res.Pos.Realtime != bin.Time.UnixMicro() {
		t.Errorf("result %+v: want 4 entries, seqnum 5, realtime of the last", res)
	}
	if lines[0] != "2026-11-24T10:00:01.000000Z web1 sshd[1001]: Failed password for root from 192.0.2.1 port 22 ssh2" {
		t.Errorf("record line %q", lines[0])
	}
	var addrs []string
	for _, f := range fails {
		addrs = append(addrs, f.Addr.String()+"@"+f.Time.Format("15:04:05"))
	}
	// The forged SYSLOG_IDENTIFIER is not read; the failure hidden after a
	// newline is no sshd failure; the user name with binary bytes is.
	if !slices.Equal(addrs, []string{"192.0.2.1@10:00:01", "192.0.2.2@10:00:02", "192.0.2.5@10:00:05"}) {
		t.Errorf("failures %v", addrs)
	}
}

func TestReadResume(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "a.journal")
	writeJournal(t, j, sshFail(1, "sshd", "192.0.2.1"), sshFail(2, "sshd", "192.0.2.2"))
	src := dirSource(dir)
	msgs, res := readAll(t, src, nil, false)
	if len(msgs) != 2 {
		t.Fatalf("first read: %q", msgs)
	}
	// Nothing new: nothing delivered, the position stays.
	msgs, res2 := readAll(t, src, &res.Pos, false)
	if len(msgs) != 0 || res2.Pos != res.Pos {
		t.Fatalf("second read: %q, %+v", msgs, res2.Pos)
	}
	// Appended entries, one of another program: only the new sshd one.
	writeJournal(t, j, tEntry{Time: t0.Add(3 * time.Second), Comm: "cron", Msg: "cron"}, sshFail(4, "sshd", "192.0.2.4"))
	msgs, res3 := readAll(t, src, &res2.Pos, false)
	if !slices.Equal(msgs, []string{sshFail(4, "", "192.0.2.4").Msg}) || res3.Lost != 0 {
		t.Fatalf("third read: %q lost %d", msgs, res3.Lost)
	}
	if len(res3.Warnings) != 0 {
		t.Errorf("warnings: %q", res3.Warnings)
	}
}

func TestReadFromEnd(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "a.journal")
	writeJournal(t, j, sshFail(1, "sshd", "192.0.2.1"), tEntry{Time: t0.Add(2 * time.Second), Comm: "cron", Msg: "x"})
	src := dirSource(dir)
	msgs, res := readAll(t, src, nil, true)
	if len(msgs) != 0 || res.Pos.Seqnum != 1 {
		t.Fatalf("start: end: %q %+v", msgs, res.Pos)
	}
	writeJournal(t, j, sshFail(3, "sshd", "192.0.2.3"))
	msgs, _ = readAll(t, src, &res.Pos, false)
	if !slices.Equal(msgs, []string{sshFail(3, "", "192.0.2.3").Msg}) {
		t.Fatalf("after: %q", msgs)
	}
	// A journal with no matching entry yet: the read's time is kept, and
	// the next read starts there.
	dir2 := t.TempDir()
	writeJournal(t, filepath.Join(dir2, "b.journal"), tEntry{Time: t0, Comm: "cron", Msg: "x"})
	msgs, res = readAll(t, dirSource(dir2), nil, true)
	if len(msgs) != 0 || res.Pos.Cursor != "" || res.Pos.Realtime != t0.Add(time.Hour).UnixMicro() {
		t.Fatalf("empty start: %q %+v", msgs, res.Pos)
	}
}

// TestReadRotation: a file rotated by hand (renamed to system@...journal)
// and a new file, with a new seqnum id as systemd-journal-remote starts:
// the saved entry is still in the old file; nothing twice, nothing missed.
func TestReadRotation(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "system.journal")
	writeJournal(t, j, sshFail(1, "sshd", "192.0.2.1"), sshFail(2, "sshd", "192.0.2.2"))
	src := dirSource(dir)
	_, res := readAll(t, src, nil, false)
	writeJournal(t, j, sshFail(3, "sshd", "192.0.2.3"))
	if err := os.Rename(j, filepath.Join(dir, "system@0000000000000001-0000000000000003.journal")); err != nil {
		t.Fatal(err)
	}
	writeJournal(t, j, sshFail(4, "sshd", "192.0.2.4"), sshFail(5, "sshd-session", "192.0.2.5"))
	msgs, res2 := readAll(t, src, &res.Pos, false)
	want := []string{sshFail(3, "", "192.0.2.3").Msg, sshFail(4, "", "192.0.2.4").Msg, sshFail(5, "", "192.0.2.5").Msg}
	if !slices.Equal(msgs, want) || res2.Lost != 0 || len(res2.Warnings) != 0 {
		t.Fatalf("after rotation: %q lost %d warnings %q", msgs, res2.Lost, res2.Warnings)
	}
	if res2.Pos.SeqnumID == res.Pos.SeqnumID {
		t.Errorf("the new file kept the seqnum id; the test no longer covers a new one")
	}
}

// TestReadStaleCursor: the journal was recreated (the saved seqnum id is
// in no file): reading starts after the saved time, with a warning.
func TestReadStaleCursor(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "system.journal")
	writeJournal(t, j, sshFail(1, "sshd", "192.0.2.1"), sshFail(2, "sshd", "192.0.2.2"))
	src := dirSource(dir)
	_, res := readAll(t, src, nil, false)
	os.Remove(j)
	writeJournal(t, j, sshFail(1, "sshd", "192.0.2.1"), sshFail(2, "sshd", "192.0.2.2"), sshFail(3, "sshd", "192.0.2.3"))
	msgs, res2 := readAll(t, src, &res.Pos, false)
	if !slices.Equal(msgs, []string{sshFail(3, "", "192.0.2.3").Msg}) {
		t.Fatalf("recreated: %q", msgs)
	}
	if len(res2.Notices) != 1 || !strings.Contains(res2.Notices[0], "is gone") {
		t.Errorf("notices %q", res2.Notices)
	}
	// A foreign cursor (another machine's journal): the same.
	foreign := res.Pos
	foreign.Cursor = strings.Replace(foreign.Cursor, "s="+foreign.SeqnumID, "s=ffffffffffffffffffffffffffffffff", 1)
	msgs, res3 := readAll(t, src, &foreign, false)
	if !slices.Equal(msgs, []string{sshFail(3, "", "192.0.2.3").Msg}) || len(res3.Notices) != 1 {
		t.Fatalf("foreign: %q %q", msgs, res3.Notices)
	}
	// A malformed cursor: the saved time serves, with a warning.
	bad := res.Pos
	bad.Cursor = "garbage;x"
	msgs, res4 := readAll(t, src, &bad, false)
	if !slices.Equal(msgs, []string{sshFail(3, "", "192.0.2.3").Msg}) || len(res4.Notices) != 1 || !strings.Contains(res4.Notices[0], "garbage") {
		t.Fatalf("malformed: %q %q", msgs, res4.Notices)
	}
}

func TestReadBadFiles(t *testing.T) {
	dir := t.TempDir()
	writeJournal(t, filepath.Join(dir, "a.journal"), sshFail(1, "sshd", "192.0.2.1"))
	os.WriteFile(filepath.Join(dir, "empty.journal"), nil, 0o640)
	good, _ := os.ReadFile(filepath.Join(dir, "a.journal"))
	os.WriteFile(filepath.Join(dir, "cut.journal"), good[:4096], 0o640)
	msgs, res := readAll(t, dirSource(dir), nil, false)
	if len(msgs) != 1 {
		t.Fatalf("messages %q", msgs)
	}
	w := strings.Join(res.Warnings, "\n")
	if len(res.Warnings) != 2 || !strings.Contains(w, "empty.journal") || !strings.Contains(w, "cut.journal") {
		t.Errorf("warnings %q", res.Warnings)
	}
	// Only bad files, or none: an error naming where.
	only := t.TempDir()
	os.WriteFile(filepath.Join(only, "empty.journal"), nil, 0o640)
	for _, d := range []string{only, t.TempDir()} {
		_, err := Read(context.Background(), &Source{Directory: d}, ReadOptions{}, func(*Entry) error { return nil })
		if !errors.Is(err, ErrNoFiles) || !strings.Contains(err.Error(), d) {
			t.Errorf("directory %s: err %v", d, err)
		}
	}
	// A namespace that does not exist.
	_, err := Read(context.Background(), &Source{Namespace: "nope", Roots: []string{t.TempDir()}, MachineID: bootID}, ReadOptions{}, func(*Entry) error { return nil })
	if !errors.Is(err, ErrNoFiles) || !strings.Contains(err.Error(), `namespace "nope"`) {
		t.Errorf("namespace: %v", err)
	}
}

func TestReadSuppressed(t *testing.T) {
	dir := t.TempDir()
	ssh := sshFail(1, "sshd", "192.0.2.1")
	ssh.Extra = [][2]string{{"_SYSTEMD_UNIT", "ssh.service"}}
	notice := func(sec int, unit string, n string) tEntry {
		return tEntry{Time: t0.Add(time.Duration(sec) * time.Second), Comm: "systemd-journal", Ident: "systemd-journald",
			Msg: "Suppressed " + n + " messages from " + unit, Extra: [][2]string{{"MESSAGE_ID", DroppedMessageID}, {"N_DROPPED", n}}}
	}
	writeJournal(t, filepath.Join(dir, "a.journal"), ssh, notice(2, "ssh.service", "1234"), notice(3, "cron.service", "99"))
	msgs, res := readAll(t, dirSource(dir), nil, false)
	if len(msgs) != 1 || res.Suppressed != 1234 {
		t.Fatalf("messages %q suppressed %d", msgs, res.Suppressed)
	}
	if len(res.Notices) != 1 || !strings.Contains(res.Notices[0], "1234") {
		t.Errorf("notices %q", res.Notices)
	}
}

// TestReadFailureKeepsNothing: journalctl failing gives an error.
func TestReadJournalctlFails(t *testing.T) {
	dir := t.TempDir()
	writeJournal(t, filepath.Join(dir, "a.journal"), sshFail(1, "sshd", "192.0.2.1"))
	src := dirSource(dir)
	src.Command = "false"
	_, err := Read(context.Background(), src, ReadOptions{}, func(*Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("err %v", err)
	}
}
