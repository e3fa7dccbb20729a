package deliver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logjail/config"
	"logjail/mail"
)

func TestReadPassword(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, data string
		mode       os.FileMode
		want, err  string
	}{
		{"ok", "s3cret pass\nsecond line\n", 0o600, "s3cret pass", ""},
		{"crlf", "s3cret\r\n", 0o640, "s3cret", ""},
		{"noeol", "s3cret", 0o400, "s3cret", ""},
		{"world", "s3cret\n", 0o644, "", "mode 0644, open to others: chmod 600"},
		{"groupw", "s3cret\n", 0o660, "", "mode 0660"},
		{"empty", "\nx\n", 0o600, "", "is empty"},
	} {
		got, err := ReadPassword(write(c.name, c.data, c.mode))
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.name)) {
			t.Errorf("%s: %v; want an error naming the file with %q", c.name, err, c.err)
		}
	}
	if _, err := ReadPassword(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := ReadPassword(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCheckSendmail(t *testing.T) {
	dir := t.TempDir()
	mailx := filepath.Join(dir, "bsd-mailx")
	os.WriteFile(mailx, []byte("#!/bin/sh\n"), 0o755)
	link := filepath.Join(dir, "sendmail")
	os.Symlink(mailx, link)
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"/usr/sbin/sendmail", true},
		{"/usr/bin/msmtp", true},
		{"/usr/bin/mail", false},
		{"/usr/bin/mail.mailutils", false},
		{"/usr/bin/s-nail", false},
		{link, false}, // a sendmail that is mailx in disguise
		{"sendmail", false},
	} {
		err := checkSendmail(c.path)
		if (err == nil) != c.ok {
			t.Errorf("checkSendmail(%s) = %v, want ok=%v", c.path, err, c.ok)
		}
	}
}

// TestSMTPTimeout: a server that accepts the connection and says
// nothing costs the timeout, and the error is one line naming it.
func TestSMTPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	var p int
	fmt.Sscan(port, &p)
	m := &smtpMailer{cfg: config.SMTP{Host: host, Port: p, StartTLS: config.StartTLSAuto}, helo: "h", timeout: 300 * time.Millisecond}
	mail := &mail.Message{From: "a@example.com", To: []string{"b@example.com"}, Subject: "s", Date: time.Now(), Host: "h", Text: "t", HTML: "<p>t</p>"}
	start := time.Now()
	err = m.Send(context.Background(), mail)
	if err == nil {
		t.Fatal("a silent server took the mail")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("gave up after %s, timeout 300ms", took)
	}
	if !strings.Contains(err.Error(), "SMTP server "+ln.Addr().String()) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line naming the server", err)
	}
}

// TestSendmailFails: a sendmail that fails is an error naming it, with
// what it said.
func TestSendmailFails(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "sendmail")
	os.WriteFile(prog, []byte("#!/bin/sh\ncat >/dev/null\necho 'queue full' >&2\necho 'try later' >&2\nexit 75\n"), 0o755)
	m := &sendmailMailer{path: prog, timeout: 5 * time.Second}
	mail := &mail.Message{From: "a@example.com", To: []string{"b@example.com"}, Subject: "s", Date: time.Now(), Host: "h", Text: "t", HTML: "<p>t</p>"}
	err := m.Send(context.Background(), mail)
	if err == nil || !strings.Contains(err.Error(), "sendmail "+prog) || !strings.Contains(err.Error(), "exit status 75: queue full; try later") {
		t.Errorf("error %v", err)
	}
}
