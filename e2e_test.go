package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vnetns "github.com/vishvananda/netns"

	"logjail/internal/testenv"
)

// TestEndToEndSSHD is the cron job end to end, proven on a real sshd: for
// every firewall backend and both of rsyslog's usual file formats, an
// attacker namespace fails passwords against a real OpenSSH server whose
// log a real rsyslogd writes; `logjail run` reads that log, bans the
// attacker in the server namespace's firewall, and packets show it: the
// attacker's address is dropped, an innocent address on the same machine
// still gets the SSH banner. Then the ban expires (--now), and a "reboot"
// (the firewall flushed by hand) is healed by the next run.
//
// Nothing touches the host: the firewall is the server namespace's, sshd
// and rsyslogd use private configs, keys, sockets and files in the test's
// temporary directory, and sshd sees the private syslog socket as
// /dev/log in a mount namespace of its own (see startSSHD).
func TestEndToEndSSHD(t *testing.T) {
	testenv.Netns(t, "/usr/sbin/sshd", "sshpass", "rsyslogd", "ssh", "ssh-keygen", "unshare", "mount")
	backends := []struct {
		name  string
		tools []string
		// flush is what a reboot does to the firewall, done by hand.
		flush [][]string
	}{
		{"iptables", []string{"iptables", "ip6tables", "iptables-save", "ip6tables-save"},
			[][]string{{"iptables", "-F"}, {"iptables", "-X"}, {"ip6tables", "-F"}, {"ip6tables", "-X"}}},
		{"ipset", []string{"ipset", "iptables", "ip6tables", "iptables-save", "ip6tables-save"},
			[][]string{{"iptables", "-F"}, {"iptables", "-X"}, {"ip6tables", "-F"}, {"ip6tables", "-X"}, {"ipset", "destroy"}}},
		{"nftables", []string{"nft"},
			[][]string{{"nft", "flush", "ruleset"}}},
	}
	formats := []struct{ name, template string }{
		{"traditional", "RSYSLOG_TraditionalFileFormat"},
		{"rfc3339", "RSYSLOG_FileFormat"},
	}
	for _, b := range backends {
		for _, f := range formats {
			t.Run(b.name+"/"+f.name, func(t *testing.T) {
				testenv.Netns(t, b.tools...)
				l := newE2ELab(t, b.name, f.template)
				l.scenario(t, b.flush)
			})
		}
	}
}

// The addresses on the veth pair: the server's, the attacker's, and an
// innocent one on the attacker's side, per family.
const (
	e2eServer4, e2eAttacker4, e2eInnocent4 = "192.0.2.1", "192.0.2.2", "192.0.2.3"
	e2eServer6, e2eAttacker6, e2eInnocent6 = "2001:db8::1", "2001:db8::2", "2001:db8::3"
	// e2eDialTimeout is how long a dropped connection attempt waits.
	e2eDialTimeout = 2 * time.Second
)

// e2eLab is one subtest's world: two namespaces, an rsyslogd and an sshd
// in the server one, and a logjail config acting on the server's firewall.
type e2eLab struct {
	dir              string
	server, attacker string // network namespaces
	authLog          string // what rsyslogd writes
	cfg              string // logjail's config
	sshdOut, rsysOut string // their stdout and stderr
	template         string // rsyslog's file format

	mu    sync.Mutex
	ended []string // daemons that ended before the test ended them
}

func newE2ELab(t *testing.T, backend, template string) *e2eLab {
	t.Helper()
	dir := t.TempDir()
	l := &e2eLab{
		dir:      dir,
		authLog:  filepath.Join(dir, "auth.log"),
		cfg:      filepath.Join(dir, "logjail.yaml"),
		sshdOut:  filepath.Join(dir, "sshd.out"),
		rsysOut:  filepath.Join(dir, "rsyslogd.out"),
		template: template,
	}
	var b [4]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	l.server = e2eNetNS(t, "lj-e2e-"+id+"-s")
	l.attacker = e2eNetNS(t, "lj-e2e-"+id+"-a")
	// nodad: the IPv6 addresses are usable at once (sshd binds its own).
	e2eSh(t, l.server, fmt.Sprintf(`ip link set lo up
ip link add lje-s type veth peer name lje-a netns %s
ip addr add %s/24 dev lje-s
ip addr add %s/64 dev lje-s nodad
ip link set lje-s up`, l.attacker, e2eServer4, e2eServer6))
	e2eSh(t, l.attacker, fmt.Sprintf(`ip link set lo up
ip addr add %s/24 dev lje-a
ip addr add %s/24 dev lje-a
ip addr add %s/64 dev lje-a nodad
ip addr add %s/64 dev lje-a nodad
ip link set lje-a up`, e2eAttacker4, e2eInnocent4, e2eAttacker6, e2eInnocent6))

	// ignoreip is loopback only: the attackers are on documentation
	// ranges, which must not be ignored. bantime is short, so that --now
	// two minutes on sees the bans lifted.
	source := "logpath: [" + l.authLog + "]"
	if template == e2eJournal {
		source = "journal: {directory: " + l.journalDir() + "}"
	}
	cfg := fmt.Sprintf(`state: %s
lock_timeout: 10s
firewall: {backend: %s}
jails:
  sshd:
    %s
    maxretry: 3
    findtime: 10m
    bantime: 1m
    port: ssh
    ignoreip: [127.0.0.0/8, "::1"]
`, filepath.Join(dir, "state", "state.db"), backend, source)
	if err := os.WriteFile(l.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// Registered before the daemons start, so it runs after they were
	// ended (their output complete) and before the namespaces go: on
	// failure, show what each part saw.
	t.Cleanup(func() {
		if t.Failed() {
			l.diagnose(t)
		}
	})

	var sock string
	if template == e2eJournal {
		sock = l.startJournald(t)
	} else {
		sock = l.startRsyslogd(t)
	}
	l.startSSHD(t, sock)

	// The veth pair takes a moment to carry packets, IPv6 neighbour
	// discovery a moment more: wait until the innocent addresses get the
	// banner (they are never banned; a bare connection is no failure for
	// the sshd filter in normal mode).
	for _, src := range []string{e2eInnocent4, e2eInnocent6} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			banner, err := l.dial(src, 300*time.Millisecond)
			if err == nil {
				t.Logf("sshd answers %s: %s", src, banner)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sshd never answered %s: %v", src, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return l
}

// scenario is the story; flush is what a reboot does.
func (l *e2eLab) scenario(t *testing.T, flush [][]string) {
	// Failed passwords from the attacker's addresses. sshpass gives the
	// password once and gives up at the second prompt, so each connection
	// is one "Failed password" line (and one "Invalid user": the filter
	// counts both, as fail2ban does); maxretry is 3.
	begin := time.Now().Truncate(time.Second) // the log may have whole seconds
	for _, src := range []string{e2eAttacker4, e2eAttacker6} {
		for i := 0; i < 3; i++ {
			l.failLogin(t, src)
		}
	}
	var failed []string
	for _, src := range []string{e2eAttacker4, e2eAttacker6} {
		failed = append(failed, l.waitLog(t, 3, "Failed password for invalid user nosuchuser from "+src+" port ")...)
	}
	l.checkFormat(t, failed[0])

	// The cron job, at the clock's time.
	l.run(t, "")
	end := time.Now()
	st := l.status(t, "")
	for _, src := range []string{e2eAttacker4, e2eAttacker6} {
		b, ok := st.ban("sshd", src)
		if !ok {
			t.Fatalf("after run: no ban of %s in jail sshd: %v", src, st.Bans)
		}
		// The ban starts at the failure that crossed maxretry, a time
		// from the log, and lasts bantime.
		start, err1 := time.Parse(time.RFC3339Nano, b.Start)
		var until time.Time
		err2 := errors.New("no until")
		if b.Until != nil {
			until, err2 = time.Parse(time.RFC3339Nano, *b.Until)
		}
		if err1 != nil || err2 != nil || start.Before(begin) || start.After(end) || until.Sub(start) != time.Minute {
			t.Errorf("ban of %s: start %s until %v (%v, %v); want a start between %s and %s, a minute long",
				src, b.Start, b.Until, err1, err2, begin.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
		}
	}
	for _, ip := range []string{e2eInnocent4, e2eInnocent6, e2eServer4, e2eServer6} {
		if _, ok := st.ban("", ip); ok {
			t.Errorf("after run: %s is banned: %v", ip, st.Bans)
		}
	}
	if len(st.Bans) != 2 {
		t.Errorf("after run: want 2 bans, got %v", st.Bans)
	}
	for _, f := range st.Failures { // a bare connection is no failure
		if f.IP != e2eAttacker4 && f.IP != e2eAttacker6 {
			t.Errorf("after run: failures of %s counted: %+v", f.IP, st.Failures)
		}
	}
	l.expect(t, "after run", map[string]bool{e2eAttacker4: false, e2eAttacker6: false, e2eInnocent4: true, e2eInnocent6: true})

	// bantime is 1m: two minutes on, the run lifts the bans.
	later := time.Now().Add(2 * time.Minute)
	at := func(d time.Duration) string { return later.Add(d).UTC().Format(time.RFC3339) }
	l.run(t, at(0))
	if st := l.status(t, at(0)); len(st.Bans) != 0 {
		t.Fatalf("after the bans expired: bans %v", st.Bans)
	}
	l.expect(t, "after the bans expired", map[string]bool{e2eAttacker4: true, e2eAttacker6: true})

	// A reboot: banned again (by hand: new failures now would lie within
	// the minute of the first bans, while they were active in log time,
	// and not count), the kernel's rules gone; the next run puts the bans
	// back.
	l.lj(t, 0, at(30*time.Second), "ban", e2eAttacker4, e2eAttacker6)
	for _, c := range flush {
		e2eIn(t, l.server, c...)
	}
	l.expect(t, "after the firewall was flushed by hand", map[string]bool{e2eAttacker4: true, e2eAttacker6: true})
	l.run(t, at(time.Minute))
	st = l.status(t, at(time.Minute))
	for _, src := range []string{e2eAttacker4, e2eAttacker6} {
		if _, ok := st.ban("manual", src); !ok {
			t.Fatalf("after the reboot: no manual ban of %s: %v", src, st.Bans)
		}
	}
	l.expect(t, "after the run that followed the reboot", map[string]bool{e2eAttacker4: false, e2eAttacker6: false, e2eInnocent4: true, e2eInnocent6: true})

	// And unban lifts them at once.
	l.lj(t, 0, at(time.Minute), "unban", e2eAttacker4, e2eAttacker6)
	l.expect(t, "after unban", map[string]bool{e2eAttacker4: true, e2eAttacker6: true})
}

// startRsyslogd runs rsyslogd in the server namespace with imuxsock on a
// private socket, writing auth and authpriv to l.authLog in l.template;
// it returns the socket's path once the socket exists.
func (l *e2eLab) startRsyslogd(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(l.dir, "log.sock")
	if len(sock) >= 108 { // sun_path
		t.Fatalf("socket path too long for a unix socket: %s", sock)
	}
	work := filepath.Join(l.dir, "rsyslog")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(l.dir, "rsyslog.conf")
	text := fmt.Sprintf(`global(workDirectory=%q)
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%q CreatePath="on")
auth,authpriv.* action(type="omfile" file=%q template=%q)
`, work, sock, l.authLog, l.template)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l.start(t, "rsyslogd", l.rsysOut, "ip", "netns", "exec", l.server,
		"rsyslogd", "-n", "-f", conf, "-i", filepath.Join(l.dir, "rsyslogd.pid"))
	e2eWait(t, 10*time.Second, "rsyslogd's socket "+sock, func() bool {
		fi, err := os.Stat(sock)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	})
	return sock
}

// sshdScript gives sshd a private /dev and /run and then becomes sshd. It
// runs in a mount namespace of its own (unshare --mount --propagation
// private), so none of these mounts is seen by the host, and they vanish
// with sshd.
//
// /dev/log: sshd logs through syslog(3), which sends to /dev/log, a path
// compiled into the C library. On the host it may be a socket, a symlink
// to journald's socket, or absent (as in containers); bind-mounting onto it
// needs an existing file, and creating one in the host's /dev would change
// the host. So sshd gets a new /dev instead: a tmpfs holding a recursive
// bind of the real /dev at /dev/.lj-host, a symlink to it for every entry
// of the real /dev but log, and log as a symlink to rsyslogd's private
// socket (connect(2) follows symlinks). The tmpfs is then moved onto /dev.
//
// /run/sshd: sshd's privilege separation directory, compiled in; it must
// exist, be owned by root and not be writable by others. Rather than create
// it on the host, /run is a private tmpfs here (sshd needs nothing else in
// /run: its pid file is in the test's directory).
const sshdScript = `set -e
dev=$1; sock=$2; conf=$3
mount -t tmpfs -o mode=0755 lj-e2e-dev "$dev"
mkdir "$dev/.lj-host"
mount --rbind /dev "$dev/.lj-host"
for e in $(ls -A /dev); do
	[ "$e" = log ] || ln -s "/dev/.lj-host/$e" "$dev/$e"
done
ln -s "$sock" "$dev/log"
mount --move "$dev" /dev
mount -t tmpfs -o mode=0755 lj-e2e-run /run
mkdir -m 0755 /run/sshd
exec /usr/sbin/sshd -D -f "$conf"
`

// startSSHD runs sshd in the server namespace, logging to syslog through
// sock, and waits until its "Server listening" line reached the log, the
// proof that the log path works.
func (l *e2eLab) startSSHD(t *testing.T, sock string) {
	t.Helper()
	key := filepath.Join(l.dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lj-e2e", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	conf := filepath.Join(l.dir, "sshd_config")
	// UsePAM no: passwords are checked by sshd itself, which logs "Failed
	// password for invalid user ..."; nothing depends on the host's PAM
	// stack. Only invalid users are tried: no account of the host is used.
	text := fmt.Sprintf(`Port 22
ListenAddress %s
ListenAddress %s
HostKey %s
PidFile %s
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
AuthorizedKeysFile none
MaxAuthTries 3
LoginGraceTime 10
UseDNS no
SyslogFacility AUTH
LogLevel INFO
`, e2eServer4, e2eServer6, key, filepath.Join(l.dir, "sshd.pid"))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(l.dir, "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		t.Fatal(err)
	}
	l.start(t, "sshd", l.sshdOut, "ip", "netns", "exec", l.server,
		"unshare", "--mount", "--propagation", "private",
		"sh", "-c", sshdScript, "sshd-e2e", dev, sock, conf)
	l.waitLog(t, 1, "Server listening on "+e2eServer4+" port 22")
	l.waitLog(t, 1, "Server listening on "+e2eServer6+" port 22")
}

// start runs a long-lived process of the test (the command execs the
// daemon, so its pid is the daemon's), output to out. It is ended by its
// pid when the test ends (SIGTERM, SIGKILL after 5 s); it runs in a
// process group of its own, which goes with it (sshd's per-connection
// children).
func (l *e2eLab) start(t *testing.T, name, out string, args ...string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		f.Close()
		l.mu.Lock()
		l.ended = append(l.ended, fmt.Sprintf("%s (pid %d): %v", name, cmd.Process.Pid, cmd.ProcessState))
		l.mu.Unlock()
		close(done)
	}()
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		select {
		case <-done:
			t.Logf("%s (pid %d) had ended: %v", name, pid, cmd.ProcessState)
		default:
		}
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		// The group's other members (sshd's children of a connection
		// still open) may outlive the leader by a moment.
		syscall.Kill(-pid, syscall.SIGKILL)
	})
}

// failLogin makes one ssh connection from src that fails one password.
func (l *e2eLab) failLogin(t *testing.T, src string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.attacker,
		"sshpass", "-p", "wrong", "ssh", "-F", "none",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=3",
		"-b", src, "nosuchuser@"+e2eServerFor(src), "true")
	out, err := cmd.CombinedOutput()
	// sshpass exits 5 when the password prompt comes back: a wrong
	// password, what this is about. 255 would be ssh failing to connect.
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 5 {
		t.Fatalf("sshpass ssh from %s: %v, want exit 5 (wrong password): %s", src, err, out)
	}
}

// waitLog waits until the log holds n lines containing s, and returns
// them.
func (l *e2eLab) waitLog(t *testing.T, n int, s string) []string {
	t.Helper()
	var found []string
	e2eWait(t, 10*time.Second, fmt.Sprintf("%d lines %q in %s", n, s, l.authLog), func() bool {
		l.mu.Lock()
		ended := l.ended
		l.mu.Unlock()
		if len(ended) > 0 {
			t.Fatalf("waiting for %q in the log: ended: %s", s, strings.Join(ended, "; "))
		}
		data, _ := os.ReadFile(l.authLog)
		if l.template == e2eJournal {
			data = l.journalText()
		}
		found = found[:0]
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, s) {
				found = append(found, line)
			}
		}
		return len(found) >= n
	})
	return found
}

// e2eFormats are the line starts of rsyslog's templates: BSD syslog
// without a year, and RFC 3339 with microseconds and offset.
var e2eFormats = map[string]*regexp.Regexp{
	"RSYSLOG_TraditionalFileFormat": regexp.MustCompile(`^[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] \S+ sshd\[[0-9]+\]: `),
	"RSYSLOG_FileFormat":            regexp.MustCompile(`^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{6}[+-][0-2][0-9]:[0-5][0-9] \S+ sshd\[[0-9]+\]: `),
}

// checkFormat makes sure the subtest reads the format it claims to.
func (l *e2eLab) checkFormat(t *testing.T, line string) {
	t.Helper()
	if l.template == e2eJournal {
		l.checkJournal(t, line)
		return
	}
	if re := e2eFormats[l.template]; !re.MatchString(line) {
		t.Fatalf("log line %q is not in the format %s (%s)", line, l.template, re)
	}
}

// run is the cron job, at now if given (else the clock's time): exit 0
// and, per the contract, nothing printed on success.
func (l *e2eLab) run(t *testing.T, now string) {
	t.Helper()
	if out, errs := l.lj(t, 0, now, "run"); out != "" || errs != "" {
		t.Errorf("run printed on success:\nstdout: %s\nstderr: %s", out, errs)
	}
}

// lj runs logjail acting on the server's firewall, at now if given (else
// the clock's time), and fails the test on an exit code other than want;
// it returns stdout and stderr.
func (l *e2eLab) lj(t *testing.T, want int, now string, args ...string) (string, string) {
	t.Helper()
	all := []string{"--config", l.cfg}
	if now != "" {
		all = append(all, "--now", now)
	}
	all = append(all, args...)
	cmd := exec.Command("logjail", all...)
	cmd.Env = append(os.Environ(), "LOGJAIL_NETNS="+l.server, e2eGorace())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("logjail %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(all, " "), code, want, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

type e2eBan struct {
	Jail, IP, Start string
	Until           *string
}

func (b e2eBan) String() string {
	u := "permanent"
	if b.Until != nil {
		u = *b.Until
	}
	return fmt.Sprintf("%s %s %s..%s", b.Jail, b.IP, b.Start, u)
}

type e2eStatus struct {
	Bans     []e2eBan `json:"bans"`
	Failures []struct {
		Jail, IP string
		Count    int
	} `json:"failures"`
}

// ban returns the active ban of ip (a single address) in jail ("" for
// any jail).
func (s e2eStatus) ban(jail, ip string) (e2eBan, bool) {
	for _, b := range s.Bans {
		if (jail == "" || b.Jail == jail) && b.IP == ip {
			return b, true
		}
	}
	return e2eBan{}, false
}

// e2eGorace keeps a program built with the race detector (go test -race:
// logjail is the test binary) from sleeping a second when it exits, the
// race runtime's default (atexit_sleep_ms=1000), which would double this
// test's time. Options the caller set in GORACE come after and win.
func e2eGorace() string {
	return strings.TrimSpace("GORACE=atexit_sleep_ms=0 " + os.Getenv("GORACE"))
}

// e2eServerFor is the server's address in src's family.
func e2eServerFor(src string) string {
	if strings.Contains(src, ":") {
		return e2eServer6
	}
	return e2eServer4
}

func (l *e2eLab) status(t *testing.T, now string) e2eStatus {
	t.Helper()
	out, _ := l.lj(t, 0, now, "status", "--format", "json")
	var st e2eStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --format json: %v\n%s", err, out)
	}
	return st
}

// expect checks from the attacker namespace, all at once, that each source
// address gets (true) or does not get (false) sshd's banner.
func (l *e2eLab) expect(t *testing.T, phase string, want map[string]bool) {
	t.Helper()
	type result struct {
		banner string
		err    error
		took   time.Duration
	}
	got := make(map[string]result)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for src := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			banner, err := l.dial(src, e2eDialTimeout)
			mu.Lock()
			got[src] = result{banner, err, time.Since(start)}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for src, open := range want {
		r := got[src]
		var ne net.Error
		switch {
		case open && r.err != nil:
			t.Errorf("%s: %s → %s should connect: %v", phase, src, e2eServerFor(src), r.err)
		case !open && r.err == nil:
			t.Errorf("%s: %s → %s should be blocked, got the banner %q", phase, src, e2eServerFor(src), r.banner)
		case !open && !(errors.As(r.err, &ne) && ne.Timeout()):
			t.Errorf("%s: %s → %s should time out (DROP): %v after %v", phase, src, e2eServerFor(src), r.err, r.took)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// dial connects from src in the attacker namespace to sshd and returns the
// first line it sends (its banner). The socket is made on a thread that
// entered the namespace; the thread is never handed back to the runtime,
// which ends it with the goroutine.
func (l *e2eLab) dial(src string, timeout time.Duration) (string, error) {
	type result struct {
		banner string
		err    error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		ns, err := vnetns.GetFromName(l.attacker)
		if err != nil {
			c <- result{err: err}
			return
		}
		defer ns.Close()
		if err := vnetns.Set(ns); err != nil {
			c <- result{err: err}
			return
		}
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		conn, err := d.Dial("tcp", net.JoinHostPort(e2eServerFor(src), "22"))
		if err != nil {
			c <- result{err: err}
			return
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(timeout))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "SSH-") {
			err = fmt.Errorf("not an SSH banner: %q", line)
		}
		c <- result{strings.TrimSpace(line), err}
	}()
	r := <-c
	return r.banner, r.err
}

// diagnose logs what every part saw: the log, logjail's view of it and
// its state, the daemons' own output and the server's firewall.
func (l *e2eLab) diagnose(t *testing.T) {
	show := func(title string, data []byte) {
		t.Logf("--- %s:\n%s", title, bytes.TrimSpace(data))
	}
	data, err := os.ReadFile(l.authLog)
	if l.template == e2eJournal {
		data, err = l.journalText(), nil
	}
	if err != nil {
		t.Logf("--- %s: %v", l.authLog, err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	show(l.authLog+" (last 80 lines)", []byte(strings.Join(lines, "\n")))
	run := func(title string, env []string, args ...string) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			out = append(out, fmt.Sprintf("\n(%v)", err)...)
		}
		show(title, out)
	}
	run("logjail filter test --filter sshd --json", []string{e2eGorace()}, "logjail", "filter", "test", "--filter", "sshd", "--json", l.authLog)
	run("logjail status", []string{"LOGJAIL_NETNS=" + l.server, e2eGorace()}, "logjail", "--config", l.cfg, "status")
	for _, f := range []string{l.sshdOut, l.rsysOut} {
		data, _ := os.ReadFile(f)
		show(filepath.Base(f), data)
	}
	for _, c := range [][]string{{"iptables-save"}, {"ip6tables-save"}, {"ipset", "list"}, {"nft", "list", "ruleset"}} {
		if _, err := exec.LookPath(c[0]); err == nil {
			run("server: "+strings.Join(c, " "), nil, append([]string{"ip", "netns", "exec", l.server}, c...)...)
		}
	}
}

// e2eNetNS creates a network namespace, deleted when the test ends.
func e2eNetNS(t *testing.T, name string) string {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// e2eSh runs a shell script in a namespace; a failure ends the test.
func e2eSh(t *testing.T, ns, script string) {
	t.Helper()
	e2eIn(t, ns, "sh", "-e", "-c", script)
}

// e2eIn runs a command in a namespace; a failure ends the test.
func e2eIn(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// e2eWait polls cond every 50 ms until it holds or the time is up.
func e2eWait(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
