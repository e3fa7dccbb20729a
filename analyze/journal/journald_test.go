package journal

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// journaldScript runs systemd-journald in a private mount namespace with a
// private /run, whose /run/systemd/journal (sockets) and /run/log (the
// volatile journal) are directories of the test, and an empty
// /var/log/journal: it touches nothing of the host.
const journaldScript = `set -e
sockets=$1; logs=$2
mount -t tmpfs -o mode=0755 lj-test-run /run
mkdir -p /run/systemd/journal /run/log
mount --bind "$sockets" /run/systemd/journal
mount --bind "$logs" /run/log
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 lj-test-journal /var/log/journal; fi
SYSTEMD_LOG_TARGET=console exec /lib/systemd/systemd-journald
`

// startJournald runs a private journald and returns its syslog socket, the
// directory of its journal (like /run/log/journal) and its pid.
func startJournald(t *testing.T) (sock, dir string, pid int) {
	t.Helper()
	testenv.Root(t, "to run systemd-journald in a mount namespace")
	testenv.Tool(t, "unshare")
	testenv.Tool(t, "logger")
	if _, err := os.Stat("/lib/systemd/systemd-journald"); err != nil {
		testenv.Missing(t, "needs systemd-journald: %v", err)
	}
	base := t.TempDir()
	sockets, logs := filepath.Join(base, "run"), filepath.Join(base, "log")
	os.Mkdir(sockets, 0o755)
	os.Mkdir(logs, 0o755)
	out, _ := os.Create(filepath.Join(base, "journald.out"))
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", journaldScript, "journald-test", sockets, logs)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("journald:\n%s", b)
		}
	})
	sock = filepath.Join(sockets, "dev-log")
	waitFor(t, "journald's socket", func() bool {
		fi, err := os.Stat(sock)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	return sock, filepath.Join(logs, "journal"), cmd.Process.Pid
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logLines logs messages through sock with logger, tagged ljtest, and
// waits until the journal holds them. (Not matched by _COMM=logger: logger
// may have exited before journald looks up its process name, and the entry
// then has no _COMM, a limit of every _COMM match. sshd logs its failures
// while the connection still lives.)
func logLines(t *testing.T, sock, dir string, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if out, err := exec.Command("logger", "-u", sock, "-t", "ljtest", m).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v: %s", err, out)
		}
	}
	last := msgs[len(msgs)-1]
	defer func() {
		if t.Failed() {
			out, err := exec.Command("journalctl", "-q", "--no-pager", "-o", "short", "--directory="+dir).CombinedOutput()
			files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
			t.Logf("journal %v (%v):\n%s", files, err, out)
		}
	}()
	waitFor(t, "the journal to hold "+last, func() bool {
		out, _ := exec.Command("journalctl", "-q", "--no-pager", "-o", "cat", "--directory="+dir, "SYSLOG_IDENTIFIER=ljtest").Output()
		return strings.Contains(string(out), last)
	})
}

// TestJournaldRotationVacuum: a real journald rotates (SIGUSR2) and the
// new file keeps the seqnum id: a read from the saved cursor crosses the
// rotation without loss or repetition. Then the rotated file is deleted
// (vacuum) before the entries after the cursor were read: the entries
// lost are counted from the seqnum gap and said once, and reading goes on.
func TestJournaldRotationVacuum(t *testing.T) {
	testenv.Tool(t, "journalctl")
	sock, dir, pid := startJournald(t)
	src := &Source{Directory: dir, Match: []string{"SYSLOG_IDENTIFIER=ljtest"}}
	read := func(prev *Position) ([]string, Result) {
		t.Helper()
		var got []string
		res, err := Read(context.Background(), src, ReadOptions{Prev: prev}, func(e *Entry) error {
			got = append(got, string(e.Message()))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, res
	}
	logLines(t, sock, dir, "one", "two")
	got, res := read(nil)
	if !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("first read: %q", got)
	}
	logLines(t, sock, dir, "three")
	syscall.Kill(pid, syscall.SIGUSR2) // rotate
	waitFor(t, "the rotation", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*", "system@*.journal"))
		return len(m) == 1
	})
	logLines(t, sock, dir, "four")
	got, res2 := read(&res.Pos)
	if !slices.Equal(got, []string{"three", "four"}) || res2.Lost != 0 || len(res2.Notices) != 0 {
		t.Fatalf("across the rotation: %q lost %d notices %q", got, res2.Lost, res2.Notices)
	}
	if res2.Pos.SeqnumID != res.Pos.SeqnumID {
		t.Errorf("journald's rotation changed the seqnum id: the test no longer covers a rotation that keeps it")
	}
	// More entries, a rotation, and the rotated file vacuumed before they
	// were read.
	logLines(t, sock, dir, "five", "six")
	syscall.Kill(pid, syscall.SIGUSR2)
	waitFor(t, "the second rotation", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*", "system@*.journal"))
		return len(m) == 2
	})
	logLines(t, sock, dir, "seven")
	archived, _ := filepath.Glob(filepath.Join(dir, "*", "system@*.journal"))
	for _, f := range archived {
		os.Remove(f)
	}
	got, res3 := read(&res2.Pos)
	if !slices.Equal(got, []string{"seven"}) {
		t.Fatalf("after the vacuum: %q", got)
	}
	// five and six and journald's own entries between them are gone.
	if res3.Lost < 2 || len(res3.Notices) != 1 || !strings.Contains(res3.Notices[0], "vacuumed before they were read") {
		t.Fatalf("after the vacuum: lost %d, notices %q", res3.Lost, res3.Notices)
	}
	// The next read finds its cursor: nothing lost, nothing said.
	logLines(t, sock, dir, "eight")
	got, res4 := read(&res3.Pos)
	if !slices.Equal(got, []string{"eight"}) || res4.Lost != 0 || len(res4.Notices) != 0 {
		t.Fatalf("after: %q lost %d notices %q", got, res4.Lost, res4.Notices)
	}
}
