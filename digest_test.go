package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests mail digests through the real program to a real SMTP
// server process (Mailpit) on loopback and read what arrived over its
// API.

// digestT0 is the time of the first run; the logs' year-less dates fall
// in its year.
var digestT0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) string { return digestT0.Add(d).Format(time.RFC3339) }

// digestSetup writes a configuration with one sshd jail (maxretry 5)
// over dir/auth.log, its state in dir, and the digest section given
// (indented under digest:, to and from set). It returns the
// configuration's path and the log's.
func digestSetup(t *testing.T, dir, digest string) (string, string) {
	t.Helper()
	log := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(log, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`state: %s
firewall: {backend: none}
jails:
  sshd:
    logpath: [%s]
    maxretry: 5
    findtime: 1h
    bantime: 1d
digest:
  to: [ops@example.com]
  from: logjail@example.com
  every: 1h
  %s
`, filepath.Join(dir, "state", "state.db"), log, digest)
	path := filepath.Join(dir, "logjail.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, log
}

// attack appends to log one failed sshd login from addr for each user,
// a second apart from the time at.
func attack(t *testing.T, log string, at time.Duration, addr string, users ...string) {
	t.Helper()
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, u := range users {
		ts := digestT0.Add(at + time.Duration(i)*time.Second).Format(time.Stamp)
		fmt.Fprintf(f, "%s web1 sshd[%d]: Failed password for invalid user %s from %s port 40%03d ssh2\n", ts, 100+i, u, addr, i)
	}
}

func users(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// bannedIn returns the addresses a digest's text lists under New bans.
func bannedIn(text string) []string {
	_, rest, ok := strings.Cut(text, "\nNew bans (")
	if !ok {
		return nil
	}
	var out []string
	for _, l := range strings.Split(rest, "\n")[4:] { // title, blank, header, dashes
		f := strings.Fields(l)
		if len(f) < 2 {
			break
		}
		out = append(out, f[1])
	}
	return out
}

// oneLine checks that stderr is one line holding every part of want.
func oneLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stderr: %d lines, want one:\n%s", len(lines), stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Fatalf("stderr %q: no %q", lines[0], w)
		}
	}
}

// TestDigestDelivery: the cron job mails a digest with the right bans;
// with the server down the run still bans, exits 1 with one line naming
// the server and keeps the outbox; once the server is back the next run
// delivers everything, each ban exactly once; digest.every holds the
// next digest back, `digest` sends it at once, a dry run never mails.
// Crafted user names arrive escaped, the headers as logjail wrote them.
func TestDigestDelivery(t *testing.T) {
	mp := startMailpit(t)
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	cfg, log := digestSetup(t, dir, fmt.Sprintf("smtp: {host: 127.0.0.1, port: %d}", mp.port()))
	hostile := []string{
		"root\rBcc: victim@example.net",
		"~!touch " + pwned,
		"<script>alert(1)</script>",
		"bad\xff\xfeutf8",
		"\x1b[2Jclear",
	}
	attack(t, log, 0, "192.0.2.1", hostile...)
	_, stderr := ljExec(t, nil, "", 0, "--config", cfg, "--now", at(time.Minute), "run")
	if stderr != "" {
		t.Fatalf("run: stderr %q", stderr)
	}
	msgs := mp.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the first run, want 1", len(msgs))
	}
	m := msgs[0]
	host, _ := os.Hostname()
	if want := "logjail on " + host + ": 1 new ban, 0 unbans, 5 failures"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if got := bannedIn(m.Text); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("bans listed %v, want 192.0.2.1:\n%s", got, m.Text)
	}
	// Headers intact: those logjail writes, none injected, one recipient.
	if len(m.To) != 1 || m.To[0].Address != "ops@example.com" || len(m.Cc) != 0 || len(m.Bcc) != 0 || m.From.Address != "logjail@example.com" {
		t.Errorf("addresses: from %v to %v cc %v bcc %v", m.From, m.To, m.Cc, m.Bcc)
	}
	raw, err := mail.ReadMessage(strings.NewReader(mp.raw(t, m.ID)))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Received", "Return-Path", "Subject", "To", "User-Agent", "X-Mailer"}
	if !slices.Equal(keys, want) {
		t.Errorf("headers %v, want %v", keys, want)
	}
	// The user names: escaped in the text, HTML-escaped in the HTML.
	for _, s := range []string{`root\rBcc: victim@example.net`, "~!touch", `\x1b[2Jclear`, "<script>alert(1)</script>"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text part lacks %q:\n%s", s, m.Text)
		}
	}
	for _, part := range []string{m.Text, m.HTML} {
		part = strings.ReplaceAll(part, "\r\n", "\n") // line ends as on the wire
		if strings.ContainsAny(part, "\x1b\r") || strings.Contains(part, "\nBcc:") {
			t.Errorf("a part holds a control character or a header line:\n%q", part)
		}
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("HTML part does not escape the user names")
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a ~! escape in a user name ran a command")
	}
	if out := lj(t, cfg, 0, "--now", at(2*time.Minute), "digest", "--preview"); !strings.Contains(out, "outbox is empty") {
		t.Errorf("after delivery the outbox is not empty:\n%s", out)
	}

	// The server goes down: the run bans, exits 1 with one line and
	// keeps the outbox. The next try waits a minute after the failure,
	// then 2, 4 ... minutes after the last: a run before then bans as
	// usual, exits 0, prints nothing and does not connect; a run after it
	// tries, and fails again with one line.
	mp.stop(t)
	// (not 192.0.2.2: that is an address of some test machines, whose
	// failures the policy drops)
	attack(t, log, 90*time.Minute, "192.0.2.5", users("a", 5)...)
	_, stderr = ljExec(t, nil, "", 1, "--config", cfg, "--now", at(2*time.Hour), "run")
	oneLine(t, stderr, "SMTP server "+mp.smtp, "connection refused", "events kept, the next try at "+at(2*time.Hour+time.Minute))
	// Something listens on the port from now on, to count who connects;
	// it closes each connection at once: the mail server is still down.
	down := listenDown(t, mp.smtp)
	attack(t, log, 2*time.Hour, "192.0.2.3", users("b", 5)...)
	_, stderr = ljExec(t, nil, "", 0, "--config", cfg, "--now", at(2*time.Hour+30*time.Second), "run")
	if stderr != "" || down.count() != 0 {
		t.Fatalf("a run within the backoff: stderr %q, %d connections; want none", stderr, down.count())
	}
	st := status(t, cfg, at(2*time.Hour+30*time.Second))
	if len(st.Bans) != 3 {
		t.Fatalf("bans while the mail server is down: %+v", st.Bans)
	}
	if d := st.Digest; d.Failures != 1 || d.FailingSince == nil || *d.FailingSince != at(2*time.Hour) ||
		d.NextTry == nil || *d.NextTry != at(2*time.Hour+time.Minute) || !strings.Contains(d.LastError, "connection refused") {
		t.Fatalf("status of a failing digest: %+v", d)
	}
	_, stderr = ljExec(t, nil, "", 1, "--config", cfg, "--now", at(2*time.Hour+time.Minute), "run")
	oneLine(t, stderr, "SMTP server "+mp.smtp, "events kept, the next try at "+at(2*time.Hour+3*time.Minute))
	if down.count() == 0 {
		t.Fatal("the run after the backoff did not connect")
	}
	tries := down.count()
	_, stderr = ljExec(t, nil, "", 0, "--config", cfg, "--now", at(2*time.Hour+2*time.Minute+30*time.Second), "run")
	if stderr != "" || down.count() != tries {
		t.Fatalf("a run within the second backoff: stderr %q, %d connections more", stderr, down.count()-tries)
	}
	if d := status(t, cfg, at(2*time.Hour+2*time.Minute+30*time.Second)).Digest; d.Failures != 2 || *d.FailingSince != at(2*time.Hour) {
		t.Fatalf("status after two failures: %+v", d)
	}
	preview := lj(t, cfg, 0, "--now", at(2*time.Hour+2*time.Minute), "digest", "--preview")
	if got := bannedIn(preview); !slices.Equal(got, []string{"192.0.2.5", "192.0.2.3"}) {
		t.Fatalf("outbox after failed deliveries lists %v:\n%s", got, preview)
	}
	down.close()

	// Back up: a dry run mails nothing; the run after the backoff
	// delivers it all.
	mp.start(t)
	if out := lj(t, cfg, 0, "--now", at(2*time.Hour+2*time.Minute+40*time.Second), "run", "--dry-run"); strings.Contains(out, "digest") {
		t.Errorf("dry run speaks of a digest:\n%s", out)
	}
	if n := len(mp.messages(t)); n != 1 {
		t.Fatalf("a dry run mailed: %d messages", n)
	}
	lj(t, cfg, 0, "--now", at(2*time.Hour+3*time.Minute), "run")
	msgs = mp.messages(t)
	var all []string
	for _, m := range msgs {
		all = append(all, bannedIn(m.Text)...)
	}
	if len(msgs) != 2 || !slices.Equal(all, []string{"192.0.2.1", "192.0.2.5", "192.0.2.3"}) {
		t.Fatalf("%d messages listing %v: want 2 listing each ban once", len(msgs), all)
	}
	if !strings.HasSuffix(msgs[1].Subject, ": 2 new bans, 0 unbans, 10 failures") {
		t.Errorf("subject %q", msgs[1].Subject)
	}
	if d := status(t, cfg, at(2*time.Hour+3*time.Minute)).Digest; d.Failures != 0 || d.FailingSince != nil || d.NextTry != nil ||
		d.Pending != 0 || d.LastSent == nil || *d.LastSent != at(2*time.Hour+3*time.Minute) {
		t.Errorf("status after the delivery: %+v", d)
	}

	// digest.every (1h) holds the next digest back; `digest` sends now.
	attack(t, log, 2*time.Hour+5*time.Minute, "192.0.2.4", users("c", 5)...)
	lj(t, cfg, 0, "--now", at(2*time.Hour+10*time.Minute), "run")
	if n := len(mp.messages(t)); n != 2 {
		t.Fatalf("a digest went before digest.every passed: %d messages", n)
	}
	out := lj(t, cfg, 0, "--now", at(2*time.Hour+11*time.Minute), "digest")
	if !strings.Contains(out, "sent to SMTP server "+mp.smtp) {
		t.Errorf("digest: %q", out)
	}
	msgs = mp.messages(t)
	if len(msgs) != 3 || !slices.Equal(bannedIn(msgs[2].Text), []string{"192.0.2.4"}) {
		t.Fatalf("after `digest`: %d messages, the last listing %v", len(msgs), bannedIn(msgs[len(msgs)-1].Text))
	}
	if out := lj(t, cfg, 0, "--now", at(2*time.Hour+12*time.Minute), "digest"); !strings.Contains(out, "outbox is empty") {
		t.Errorf("digest of an empty outbox: %q", out)
	}
	if n := len(mp.messages(t)); n != 3 {
		t.Fatalf("an empty outbox was mailed: %d messages", n)
	}
}

// TestDigestSendmail: the digest through a real sendmail-compatible
// program (Mailpit's sendmail, which is Mailpit called as "sendmail"),
// started without a shell; a failing program is exit 1, one line.
func TestDigestSendmail(t *testing.T) {
	mp := startMailpit(t)
	dir := t.TempDir()
	short, err := os.MkdirTemp("", "lj") // a path short enough to show whole
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(short)
	sendmail := filepath.Join(dir, "bin", "sendmail")
	os.MkdirAll(filepath.Dir(sendmail), 0o755)
	if err := os.Symlink(mp.bin, sendmail); err != nil {
		t.Fatal(err)
	}
	pwned := filepath.Join(short, "p")
	cfg, log := digestSetup(t, dir, "sendmail: "+sendmail)
	attack(t, log, 0, "198.51.100.9", "~!touch "+pwned, ".", "$(touch "+pwned+")", "`touch "+pwned+"`", "x;touch "+pwned)
	env := []string{"MP_SENDMAIL_SMTP_ADDR=" + mp.smtp}
	ljExec(t, env, "", 0, "--config", cfg, "--now", at(time.Minute), "run")
	msgs := mp.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if got := bannedIn(m.Text); !slices.Equal(got, []string{"198.51.100.9"}) {
		t.Errorf("bans listed %v:\n%s", got, m.Text)
	}
	if len(m.To) != 1 || m.To[0].Address != "ops@example.com" || len(m.Bcc) != 0 {
		t.Errorf("recipients to %v bcc %v", m.To, m.Bcc)
	}
	if raw := mp.raw(t, m.ID); !strings.Contains(raw, "Return-Path: <logjail@example.com>") {
		t.Errorf("envelope sender is not digest.from:\n%s", raw[:min(len(raw), 400)])
	}
	if !strings.Contains(m.Text, "~!touch "+pwned) || !strings.Contains(m.Text, "`touch ") {
		t.Errorf("user names did not arrive as written:\n%s", m.Text)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a user name ran a command")
	}

	mp.stop(t)
	attack(t, log, time.Hour, "198.51.100.10", users("d", 5)...)
	_, stderr := ljExec(t, env, "", 1, "--config", cfg, "--now", at(2*time.Hour), "run")
	oneLine(t, stderr, "sendmail "+sendmail)
	mp.start(t)
	ljExec(t, env, "", 0, "--config", cfg, "--now", at(2*time.Hour+time.Minute), "run")
	if msgs := mp.messages(t); len(msgs) != 2 || !slices.Equal(bannedIn(msgs[1].Text), []string{"198.51.100.10"}) {
		t.Fatalf("after the retry: %d messages", len(msgs))
	}
}

// digestCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir.
func digestCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "logjail test mail server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

// TestDigestTLSAndAuth: STARTTLS always with AUTH (the password from
// password_file), implicit TLS, and auto, each against a Mailpit that
// demands it (the first takes no mail without STARTTLS and AUTH, so a
// delivery there proves both); a certificate the system does not trust,
// a wrong password, a password file others can read and no STARTTLS
// each fail with one line and keep the outbox.
func TestDigestTLSAndAuth(t *testing.T) {
	certDir := t.TempDir()
	cert, key := digestCert(t, certDir)
	// Mailpit's users file splits on white space: the password, which
	// holds some, goes in as its SHA-1 hash (htpasswd's {SHA}).
	const password = "s3cret pass ~!"
	sum := sha1.Sum([]byte(password))
	auth := filepath.Join(certDir, "smtp-users")
	os.WriteFile(auth, []byte("digest:{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o600)
	tlsFlags := []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key}
	startTLSAuth := startMailpit(t, append(tlsFlags, "--smtp-require-starttls", "--smtp-auth-file", auth)...)
	implicit := startMailpit(t, append(tlsFlags, "--smtp-require-tls")...)
	optional := startMailpit(t, tlsFlags...)
	trust := []string{"SSL_CERT_FILE=" + cert}

	for _, c := range []struct {
		name     string
		mp       *mailpit
		smtp     string
		password string // "": no password file
		mode     os.FileMode
		env      []string
		// fail is what the one line of a failure says; "" for delivery.
		fail string
	}{
		{name: "starttls always with auth", mp: startTLSAuth, smtp: "starttls: always, username: digest", password: password + "\n", mode: 0o600, env: trust},
		{name: "auto with auth checks the certificate", mp: startTLSAuth, smtp: "starttls: auto, username: digest", password: password + "\n", mode: 0o640, env: trust},
		{name: "implicit tls", mp: implicit, smtp: "starttls: tls", env: trust},
		{name: "auto without auth takes any certificate", mp: optional, smtp: "starttls: auto"},
		{name: "untrusted certificate", mp: startTLSAuth, smtp: "starttls: always, username: digest", password: password + "\n", mode: 0o600, fail: "certificate"},
		{name: "auto with auth and an untrusted certificate", mp: startTLSAuth, smtp: "starttls: auto, username: digest", password: password + "\n", mode: 0o600, fail: "certificate"},
		{name: "wrong password", mp: startTLSAuth, smtp: "starttls: always, username: digest", password: "guess\n", mode: 0o600, env: trust, fail: "AUTH"},
		{name: "password file others read", mp: startTLSAuth, smtp: "starttls: always, username: digest", password: password + "\n", mode: 0o644, env: trust, fail: "chmod 600"},
		{name: "never against a server that wants STARTTLS", mp: startTLSAuth, smtp: "starttls: never", fail: "530"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			smtp := fmt.Sprintf("smtp: {host: 127.0.0.1, port: %d, %s", c.mp.port(), c.smtp)
			if c.password != "" {
				pw := filepath.Join(dir, "smtp.pass")
				os.WriteFile(pw, []byte(c.password), c.mode)
				os.Chmod(pw, c.mode)
				smtp += ", password_file: " + pw
			}
			cfg, _ := digestSetup(t, dir, smtp+"}")
			before := len(c.mp.messages(t))
			ljExec(t, nil, "", 0, "--config", cfg, "--now", at(0), "ban", "203.0.113.77")
			if c.fail == "" {
				ljExec(t, c.env, "", 0, "--config", cfg, "--now", at(time.Minute), "digest")
				msgs := c.mp.messages(t)
				if len(msgs) != before+1 {
					t.Fatalf("%d new messages, want 1", len(msgs)-before)
				}
				if m := msgs[len(msgs)-1]; !slices.Equal(bannedIn(m.Text), []string{"203.0.113.77"}) {
					t.Errorf("the message lists %v", bannedIn(m.Text))
				}
				return
			}
			_, stderr := ljExec(t, c.env, "", 1, "--config", cfg, "--now", at(time.Minute), "digest")
			oneLine(t, stderr, "SMTP server 127.0.0.1:", c.fail)
			if n := len(c.mp.messages(t)); n != before {
				t.Fatalf("a failed delivery left %d messages", n-before)
			}
			if out := lj(t, cfg, 0, "--now", at(time.Minute), "digest", "--preview"); !strings.Contains(out, "203.0.113.77") {
				t.Fatalf("the outbox lost the ban:\n%s", out)
			}
		})
	}
}

// downServer listens where a mail server was and closes every connection
// at once (a server still down), counting them: a run that does not try
// to mail leaves the count as it was.
type downServer struct {
	ln   net.Listener
	n    atomic.Int32
	done chan struct{}
}

func listenDown(t *testing.T, addr string) *downServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &downServer{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(d.close)
	return d
}

func (d *downServer) count() int { return int(d.n.Load()) }

// close stops listening and waits for the accepting goroutine.
func (d *downServer) close() {
	d.ln.Close()
	<-d.done
}
