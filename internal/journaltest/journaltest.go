// Package journaltest writes real systemd journal files for tests: entries
// in journalctl's export format, fed to systemd-journal-remote, which
// keeps _COMM, _PID and _BOOT_ID as given (a client's own journald would
// take them from the kernel).
package journaltest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// Remote is systemd-journal-remote (Debian package systemd-journal-remote).
const Remote = "/lib/systemd/systemd-journal-remote"

// BootID is the boot id of every entry.
const BootID = "0123456789abcdef0123456789abcdef"

// Entry is an entry to write.
type Entry struct {
	Time  time.Time
	Comm  string // _COMM; "" leaves it out
	Ident string // SYSLOG_IDENTIFIER; "" leaves it out
	PID   int
	Host  string // _HOSTNAME; "" is web1
	Msg   string
	Extra [][2]string
}

// Export writes entries in the export format; a value with a control
// byte (a newline, say) is written length-prefixed.
func Export(b *bytes.Buffer, entries ...Entry) {
	field := func(k, v string) {
		bin := false
		for i := 0; i < len(v); i++ {
			if v[i] < 32 && v[i] != '\t' {
				bin = true
			}
		}
		if !bin {
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(v)
			b.WriteByte('\n')
			return
		}
		b.WriteString(k + "\n")
		binary.Write(b, binary.LittleEndian, uint64(len(v)))
		b.WriteString(v + "\n")
	}
	for _, e := range entries {
		us := e.Time.UnixMicro()
		field("__REALTIME_TIMESTAMP", fmt.Sprint(us))
		field("__MONOTONIC_TIMESTAMP", fmt.Sprint(us-1_700_000_000_000_000))
		field("_BOOT_ID", BootID)
		host := e.Host
		if host == "" {
			host = "web1"
		}
		field("_HOSTNAME", host)
		if e.Comm != "" {
			field("_COMM", e.Comm)
		}
		if e.PID != 0 {
			field("_PID", fmt.Sprint(e.PID))
		}
		if e.Ident != "" {
			field("SYSLOG_IDENTIFIER", e.Ident)
		}
		for _, x := range e.Extra {
			field(x[0], x[1])
		}
		field("MESSAGE", e.Msg)
		b.WriteByte('\n')
	}
}

// Need skips t (fails it with CI=true) without systemd-journal-remote and
// journalctl.
func Need(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Remote); err != nil {
		testenv.Missing(t, "needs %s (Debian package systemd-journal-remote): %v", Remote, err)
	}
	testenv.Tool(t, "journalctl")
}

// Write appends entries to the journal file path, creating it; the name
// must end in .journal.
func Write(t testing.TB, path string, entries ...Entry) {
	t.Helper()
	Need(t)
	var b bytes.Buffer
	Export(&b, entries...)
	if err := WriteExport(path, &b); err != nil {
		t.Fatal(err)
	}
}

// WriteExport appends the export text in b to the journal file path.
func WriteExport(path string, b *bytes.Buffer) error {
	cmd := exec.Command(Remote, "-o", path, "-")
	cmd.Stdin = b
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s -o %s: %v: %s", Remote, path, err, out)
	}
	return nil
}

// SSHFail is sshd's failure line for root from addr.
func SSHFail(addr string) string {
	return "Failed password for root from " + addr + " port 22 ssh2"
}
