package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"logjail/internal/testenv"
)

const remote = "/lib/systemd/systemd-journal-remote"

// tEntry is an entry to write into a test journal.
type tEntry struct {
	t     time.Time
	comm  string
	ident string // SYSLOG_IDENTIFIER; "" leaves it out
	pid   int
	msg   string
	host  string
	extra [][2]string
}

const bootID = "0123456789abcdef0123456789abcdef"

// exportText writes entries in the export format, values with a newline
// or control byte length-prefixed.
func exportText(entries ...tEntry) []byte {
	var b bytes.Buffer
	field := func(k, v string) {
		binaryValue := false
		for i := 0; i < len(v); i++ {
			if v[i] < 32 && v[i] != '\t' {
				binaryValue = true
			}
		}
		if !binaryValue {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
			return
		}
		b.WriteString(k + "\n")
		binary.Write(&b, binary.LittleEndian, uint64(len(v)))
		b.WriteString(v + "\n")
	}
	for _, e := range entries {
		us := e.t.UnixMicro()
		field("__REALTIME_TIMESTAMP", fmt.Sprint(us))
		field("__MONOTONIC_TIMESTAMP", fmt.Sprint(us-1_700_000_000_000_000))
		field("_BOOT_ID", bootID)
		host := e.host
		if host == "" {
			host = "web1"
		}
		field("_HOSTNAME", host)
		if e.comm != "" {
			field("_COMM", e.comm)
		}
		if e.pid != 0 {
			field("_PID", fmt.Sprint(e.pid))
		}
		if e.ident != "" {
			field("SYSLOG_IDENTIFIER", e.ident)
		}
		for _, x := range e.extra {
			field(x[0], x[1])
		}
		field("MESSAGE", e.msg)
		b.WriteString("\n")
	}
	return b.Bytes()
}

// writeJournal appends entries to the journal file path (creating it) with
// systemd-journal-remote, as a journal of another machine would come.
func writeJournal(t testing.TB, path string, entries ...tEntry) {
	t.Helper()
	if _, err := os.Stat(remote); err != nil {
		testenv.Missing(t, "needs %s (Debian package systemd-journal-remote): %v", remote, err)
	}
	testenv.Tool(t, "journalctl")
	cmd := exec.Command(remote, "-o", path, "-")
	cmd.Stdin = bytes.NewReader(exportText(entries...))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s -o %s: %v: %s", remote, path, err, out)
	}
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// sshFail is an sshd failure from addr at t0+sec.
func sshFail(sec int, comm, addr string) tEntry {
	return tEntry{t: t0.Add(time.Duration(sec) * time.Second), comm: comm, ident: "sshd", pid: 1000 + sec,
		msg: "Failed password for root from " + addr + " port 22 ssh2"}
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
