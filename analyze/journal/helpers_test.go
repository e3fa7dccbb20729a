package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"logjail/internal/journaltest"
)

type tEntry = journaltest.Entry

const bootID = journaltest.BootID

func writeJournal(t testing.TB, path string, entries ...tEntry) {
	t.Helper()
	journaltest.Write(t, path, entries...)
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// sshFail is an sshd failure from addr at t0+sec.
func sshFail(sec int, comm, addr string) tEntry {
	return tEntry{Time: t0.Add(time.Duration(sec) * time.Second), Comm: comm, Ident: "sshd", PID: 1000 + sec,
		Msg: journaltest.SSHFail(addr)}
}

// readAll reads src from prev and returns the messages delivered.
func readAll(t *testing.T, src *Source, prev *Position, fromEnd bool) ([]string, Result) {
	t.Helper()
	var msgs []string
	res, err := Read(context.Background(), src, ReadOptions{Prev: prev, FromEnd: fromEnd, Now: t0.Add(time.Hour)}, func(e *Entry) error {
		msgs = append(msgs, string(e.Message()))
		return nil
	})
	if err != nil {
		t.Fatalf("Read %s: %v", src, err)
	}
	return msgs, res
}

func dirSource(dir string) *Source {
	return &Source{Files: []string{filepath.Join(dir, "*.journal")}, Match: []string{"_COMM=sshd", "_COMM=sshd-session"}}
}
