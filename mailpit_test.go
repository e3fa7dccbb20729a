package main

import (
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"logjail/internal/testenv"
)

// mailpitBin finds Mailpit (test.sh installs it with go install): on
// PATH, else in GOPATH/bin. Without it the test skips, except with
// CI=true, where it fails: CI must run every test.
func mailpitBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "mailpit")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	testenv.Missing(t, "needs mailpit (go install github.com/axllent/mailpit@v1.27.11)")
	return ""
}

// mailpit is a real SMTP server process on loopback, with an HTTP API
// to read what arrived. Its messages live in a database file, so they
// outlast a stop and start.
type mailpit struct {
	bin        string
	db         string
	smtp, http string // 127.0.0.1:port
	extra      []string
	cmd        *exec.Cmd
	exited     chan error // receives the process's end
	log        string
}

// startMailpit starts Mailpit on two free loopback ports, with extra
// flags (TLS, AUTH); the test's end stops it.
func startMailpit(t *testing.T, extra ...string) *mailpit {
	t.Helper()
	dir := t.TempDir()
	m := &mailpit{bin: mailpitBin(t), db: filepath.Join(dir, "mailpit.db"), smtp: freeAddr(t), http: freeAddr(t),
		extra: extra, log: filepath.Join(dir, "mailpit.log")}
	m.start(t)
	t.Cleanup(func() { m.stop(t) })
	return m
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (m *mailpit) port() int {
	_, p, _ := net.SplitHostPort(m.smtp)
	n, _ := strconv.Atoi(p)
	return n
}

func (m *mailpit) start(t *testing.T) {
	t.Helper()
	if m.cmd != nil {
		t.Fatal("mailpit already running")
	}
	args := append([]string{"--smtp", m.smtp, "--listen", m.http, "--database", m.db,
		"--disable-version-check", "--smtp-disable-rdns", "--log-file", m.log}, m.extra...)
	m.cmd = exec.Command(m.bin, args...)
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- m.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(m.log)
			m.cmd = nil
			t.Fatalf("mailpit %v exited: %v\n%s", args, err, log)
		default:
		}
		if m.ready() {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(m.log)
			t.Fatalf("mailpit not ready on %s and %s after 15s\n%s", m.smtp, m.http, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.exited = exited
}

// ready reports whether both the SMTP port and the API answer.
func (m *mailpit) ready() bool {
	c, err := net.DialTimeout("tcp", m.smtp, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	resp, err := http.Get("http://" + m.http + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the process this test started, by its pid, and waits for
// it; the SMTP port then refuses connections.
func (m *mailpit) stop(t *testing.T) {
	t.Helper()
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

// mpAddress is an address in Mailpit's API.
type mpAddress struct{ Name, Address string }

// mpMessage is a message as Mailpit's API returns it.
type mpMessage struct {
	ID, MessageID, Subject, Username string
	From                             mpAddress
	To, Cc, Bcc                      []mpAddress
	Text, HTML                       string
}

func (m *mailpit) get(t *testing.T, path string, v any) []byte {
	t.Helper()
	resp, err := http.Get("http://" + m.http + path)
	if err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit API %s: %s %v: %s", path, resp.Status, err, data)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("mailpit API %s: %v", path, err)
		}
	}
	return data
}

// messages returns every message received, oldest first, in full.
func (m *mailpit) messages(t *testing.T) []mpMessage {
	t.Helper()
	var list struct{ Messages []mpMessage }
	m.get(t, "/api/v1/messages?limit=1000", &list)
	out := make([]mpMessage, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists newest first
		var full mpMessage
		m.get(t, "/api/v1/message/"+list.Messages[i].ID, &full)
		out = append(out, full)
	}
	return out
}

// raw returns a message's source as it arrived.
func (m *mailpit) raw(t *testing.T, id string) string {
	t.Helper()
	return string(m.get(t, "/api/v1/message/"+id+"/raw", nil))
}

func (m *mailpit) String() string { return fmt.Sprintf("mailpit smtp %s api %s", m.smtp, m.http) }
