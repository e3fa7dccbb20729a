package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"logjail/config"
	"logjail/fleet"
	"logjail/mail"
	"logjail/remote"
	"logjail/remote/serve"
)

// TestMain runs this test binary as logjail-net when it is started by
// that name (as package remote starts it), and points LOGJAIL_NET at it.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == remote.Program {
		os.Exit(serve.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	if sm := os.Getenv("REMOTE_TEST_PARENT"); sm != "" {
		// A logjail that is killed while it mails (TestKilledWithLogjail).
		remote.NewMailer(&config.Digest{Sendmail: sm}, "web1").Send(context.Background(), message())
		os.Exit(0)
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	os.Setenv("LOGJAIL_NET", self)
	os.Exit(m.Run())
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sendmail")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func message() *mail.Message {
	return &mail.Message{From: "logjail@example.org", To: []string{"ops@example.org"}, Subject: "logjail digest: web1, 3 bans",
		Date: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC), Host: "web1", Text: "3 bans\n", HTML: "<p>3 bans</p>"}
}

// TestMail: the message crosses to logjail-net, which makes the MIME
// message and hands it to sendmail with the envelope on its command line.
func TestMail(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mail")
	sm := script(t, `echo "$@" >`+out+`.args; cat >`+out+"\n")
	m := remote.NewMailer(&config.Digest{Sendmail: sm}, "web1")
	if got, want := m.Server(), "sendmail "+sm; got != want {
		t.Errorf("Server() = %q, want %q", got, want)
	}
	if err := m.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(out + ".args")
	if got := strings.TrimSpace(string(args)); got != "-i -f logjail@example.org -- ops@example.org" {
		t.Errorf("sendmail's arguments: %q", got)
	}
	data, _ := os.ReadFile(out)
	for _, want := range []string{"Subject: logjail digest: web1, 3 bans", "Content-Type: multipart/alternative", "<p>3 bans</p>", "@web1>"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("the message lacks %q:\n%s", want, data)
		}
	}
}

// TestErrors: the call's own error comes back as it was, on one line; a
// logjail-net that cannot run names what is missing.
func TestErrors(t *testing.T) {
	sm := script(t, "echo 'mailbox full' >&2\necho 'try later' >&2\nexit 75\n")
	err := remote.NewMailer(&config.Digest{Sendmail: sm}, "web1").Send(context.Background(), message())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "digest: mail to sendmail "+sm+" failed: ") ||
		!strings.Contains(err.Error(), "mailbox full; try later") {
		t.Errorf("a failing sendmail: %v", err)
	}

	// A fleet whose server is not there: pgx's error, naming the database.
	dir := t.TempDir()
	_, err = remote.Exchange(context.Background(), &config.Fleet{DSN: "host=" + dir + " port=5 user=web1 dbname=fleet connect_timeout=2"}, "web1", fleet.Request{Now: time.Now()})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "database web1@"+dir+"/fleet") {
		t.Errorf("an absent server: %v", err)
	}

	t.Setenv("LOGJAIL_NET", filepath.Join(dir, "no-such-program"))
	err = remote.NewMailer(&config.Digest{Sendmail: sm}, "web1").Send(context.Background(), message())
	if err == nil || !strings.HasPrefix(err.Error(), "digest: mail to sendmail "+sm+" failed: ") || !strings.Contains(err.Error(), "LOGJAIL_NET="+filepath.Join(dir, "no-such-program")+": no such executable file") {
		t.Errorf("no logjail-net: %v", err)
	}
}

// TestDeadline: the deadline travels to logjail-net, which ends the call
// with its own error well before it would be killed.
func TestDeadline(t *testing.T) {
	sm := script(t, "sleep 30\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := remote.NewMailer(&config.Digest{Sendmail: sm}, "web1").Send(ctx, message())
	if err == nil || !strings.Contains(err.Error(), "failed: no answer within ") {
		t.Errorf("a sendmail that hangs past the deadline: %v", err)
	}
	t.Log(err)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the call took %v", d)
	}
}

// TestKilledWithLogjail: logjail-net does not outlive a logjail killed in
// the middle of a call.
func TestKilledWithLogjail(t *testing.T) {
	dir := t.TempDir()
	// The sendmail writes its parent's pid (logjail-net's) and its own.
	sm := script(t, "echo $PPID $$ >"+dir+"/pids.tmp; mv "+dir+"/pids.tmp "+dir+"/pids; exec sleep 30\n")
	self, _ := os.Executable()
	parent := exec.Command(self, "-test.run=^$")
	parent.Env = append(os.Environ(), "REMOTE_TEST_PARENT="+sm)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var helper, sendmail int
	for i := 0; i < 200 && helper == 0; i++ {
		time.Sleep(50 * time.Millisecond)
		if data, err := os.ReadFile(dir + "/pids"); err == nil {
			fmt.Sscan(string(data), &helper, &sendmail)
		}
	}
	if helper == 0 {
		parent.Process.Kill()
		parent.Wait()
		t.Fatal("the sendmail never started")
	}
	t.Cleanup(func() { syscall.Kill(sendmail, syscall.SIGKILL) })
	parent.Process.Kill()
	parent.Wait()
	for i := 0; ; i++ {
		// Gone, or a zombie its new parent has not reaped yet.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", helper))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if i == 100 {
			t.Fatalf("logjail-net (pid %d) still runs 5 s after logjail was killed", helper)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServe: logjail-net refuses a wrong verb, a call it cannot read and
// one from another release, with exit code 2 and a line saying so.
func TestServe(t *testing.T) {
	for _, c := range []struct {
		args []string
		in   string
		want string
	}{
		{[]string{remote.Program}, "", "usage: logjail-net"},
		{[]string{remote.Program, "mail"}, "{", "read the call on standard input"},
		{[]string{remote.Program, "mail"}, `{"protocol": 99}`, "logjail sent a call of protocol 99, this logjail-net speaks 1"},
		{[]string{remote.Program, "dance"}, `{"protocol": 1}`, `unknown verb "dance"`},
	} {
		var out, errb bytes.Buffer
		if code := serve.Main(c.args, strings.NewReader(c.in), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) || out.Len() != 0 {
			t.Errorf("%v <%q: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, c.in, code, out.String(), errb.String(), c.want)
		}
	}
}
