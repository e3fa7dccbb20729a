package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"logjail/internal/pgtest"
	"logjail/internal/testenv"
)

// fleetHost is one host of a test fleet: its config, state and log.
type fleetHost struct {
	name, cfg, log string
	metrics        string
	// env is added to logjail's environment (LOGJAIL_NETNS).
	env []string
}

// inNetns moves the host into a network namespace of its own with an
// nftables firewall: its runs ban there for real. (The database is
// reached over its socket, which every namespace sees.)
func (h *fleetHost) inNetns(t *testing.T) string {
	t.Helper()
	ns := netns(t)
	data, _ := os.ReadFile(h.cfg)
	os.WriteFile(h.cfg, []byte(strings.Replace(string(data), "backend: none", "backend: nftables", 1)), 0o644)
	h.env = append(h.env, "LOGJAIL_NETNS="+ns)
	return ns
}

// newFleetHost writes a host's config: an sshd jail over its own log,
// firewall none, the fleet section as given.
func newFleetHost(t *testing.T, name, dsn, fleetExtra, jailExtra string) *fleetHost {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	os.MkdirAll(dir, 0o755)
	h := &fleetHost{name: name, cfg: filepath.Join(dir, "logjail.yaml"), log: filepath.Join(dir, "auth.log"), metrics: filepath.Join(dir, "logjail.prom")}
	os.WriteFile(h.log, nil, 0o644)
	cfg := fmt.Sprintf(`state: %s
metrics_file: %s
firewall: {backend: none}
jails:
  sshd:
    logpath: [%s]
    maxretry: 5
    findtime: 10m
    bantime: 1h
%s
fleet:
  dsn: "%s"
  host: %s
  timeout: 3s
%s
`, filepath.Join(dir, "state", "state.db"), h.metrics, h.log, jailExtra, dsn, name, fleetExtra)
	if err := os.WriteFile(h.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// fail appends n failed sshd logins of addr to the host's log, a second
// apart from at.
func (h *fleetHost) fail(t *testing.T, addr string, at time.Time, n int) {
	t.Helper()
	f, err := os.OpenFile(h.log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range n {
		fmt.Fprintf(f, "%s %s sshd[9]: Failed password for root from %s port 22 ssh2\n", at.Add(time.Duration(i)*time.Second).Format(time.Stamp), h.name, addr)
	}
}

// run runs `logjail run` on the host at now and returns its stderr.
func (h *fleetHost) run(t *testing.T, now time.Time, want int, args ...string) string {
	t.Helper()
	_, stderr := ljExec(t, append([]string{"TZ=UTC"}, h.env...), "", want, append([]string{"--config", h.cfg, "--now", now.Format(time.RFC3339)}, append([]string{"run"}, args...)...)...)
	return stderr
}

type fleetStatus struct {
	Bans []struct {
		Jail, IP, Start, Origin string
		Until                   *string
	} `json:"bans"`
	Fleet *struct {
		Host         string  `json:"host"`
		LastOK       *string `json:"last_ok"`
		Failures     int     `json:"failures"`
		FailingSince *string `json:"failing_since"`
		LastError    string  `json:"last_error"`
		Pending      int     `json:"pending"`
	} `json:"fleet"`
}

func (h *fleetHost) status(t *testing.T, now time.Time) fleetStatus {
	t.Helper()
	out, _ := ljExec(t, []string{"TZ=UTC"}, "", 0, "--config", h.cfg, "--now", now.Format(time.RFC3339), "status", "--format", "json")
	var s fleetStatus
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return s
}

// bans returns the host's active bans as "jail ip origin" lines.
func (s fleetStatus) bans() string {
	var out []string
	for _, b := range s.Bans {
		out = append(out, b.Jail+" "+b.IP+" "+b.Origin)
	}
	return strings.Join(out, "\n")
}

// TestFleetBans: bans and unbans go round the fleet; the server stopped
// between runs costs nothing but a line and exit 1.
func TestFleetBans(t *testing.T) {
	pg := pgtest.NewCluster(t)
	srv := pg.Server()
	dsn := srv.DSN + " dbname=" + srv.Database(t)
	web1 := newFleetHost(t, "web1", dsn, "", "")
	web2 := newFleetHost(t, "web2", dsn, "", "    ignoreip: [127.0.0.0/8, 192.0.2.66]")
	out := lj(t, web1.cfg, 0, "fleet", "init")
	if !strings.Contains(out, "migrated from version 0 to 1") {
		t.Fatalf("fleet init said %q", out)
	}
	if out := lj(t, web2.cfg, 0, "fleet", "init"); !strings.Contains(out, "at version 1 already") {
		t.Fatalf("second fleet init said %q", out)
	}
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	web1.fail(t, "192.0.2.10", t0, 5)
	web1.fail(t, "192.0.2.66", t0, 5)
	web1.run(t, t0.Add(time.Minute), 0)
	web2.run(t, t0.Add(time.Minute), 0)
	if got, want := web2.status(t, t0.Add(2*time.Minute)).bans(), "sshd 192.0.2.10 web1"; got != want {
		t.Fatalf("web2's bans after its run:\n%s\nwant (192.0.2.66 is web2's ignoreip):\n%s", got, want)
	}
	if got, want := web1.status(t, t0.Add(2*time.Minute)).bans(), "sshd 192.0.2.10 web1\nsshd 192.0.2.66 web1"; got != want {
		t.Fatalf("web1's bans:\n%s\nwant:\n%s", got, want)
	}

	// The server goes down: web1 still bans, says it in one line, exits
	// 1, and keeps the ban for the fleet.
	pg.Stop()
	web1.fail(t, "192.0.2.11", t0.Add(2*time.Minute), 5)
	stderr := web1.run(t, t0.Add(3*time.Minute), 1)
	t.Logf("server down: %s", stderr)
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "fleet") || !strings.Contains(lines[0], "banned locally") {
		t.Fatalf("run with the server down said:\n%s\nwant one line about the fleet", stderr)
	}
	s := web1.status(t, t0.Add(3*time.Minute))
	if !strings.Contains(s.bans(), "192.0.2.11 web1") || s.Fleet == nil || s.Fleet.Failures != 1 || s.Fleet.Pending != 1 || s.Fleet.LastError == "" {
		t.Fatalf("web1's status with the server down: %s %+v", s.bans(), s.Fleet)
	}
	metrics, _ := os.ReadFile(web1.metrics)
	if !strings.Contains(string(metrics), "logjail_fleet_failures 1\n") || !strings.Contains(string(metrics), "logjail_fleet_pending 1\n") {
		t.Errorf("metrics with the server down:\n%s", metrics)
	}
	web1.run(t, t0.Add(4*time.Minute), 1)
	// A ban by hand with the server down: banned here, one line, exit 1.
	_, stderr = ljExec(t, nil, "", 1, "--config", web2.cfg, "--now", t0.Add(4*time.Minute).Format(time.RFC3339), "ban", "--jail", "sshd", "--for", "1h", "192.0.2.77")
	if !strings.Contains(stderr, "fleet: ") || !strings.Contains(stderr, "kept for the next run to send") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("ban with the server down said %q", stderr)
	}
	if s := web1.status(t, t0.Add(4*time.Minute)); s.Fleet.Failures != 2 || *s.Fleet.FailingSince != "2026-12-06T03:03:00Z" {
		t.Errorf("second failed exchange: %+v", s.Fleet)
	}

	// Back up: the first run sends it all, the other host takes it.
	pg.Start()
	web1.run(t, t0.Add(5*time.Minute), 0)
	if s := web1.status(t, t0.Add(5*time.Minute)); s.Fleet.Failures != 0 || s.Fleet.Pending != 0 || *s.Fleet.LastOK != "2026-12-06T03:05:00Z" {
		t.Errorf("after the server came back: %+v", s.Fleet)
	}
	metrics, _ = os.ReadFile(web1.metrics)
	if !strings.Contains(string(metrics), "logjail_fleet_failures 0\n") || !strings.Contains(string(metrics), "logjail_fleet_pending 0\n") {
		t.Errorf("metrics after the server came back:\n%s", metrics)
	}
	web2.run(t, t0.Add(5*time.Minute), 0)
	web1.run(t, t0.Add(5*time.Minute), 0)
	if got, want := web1.status(t, t0.Add(5*time.Minute)).bans(), "sshd 192.0.2.10 web1\nsshd 192.0.2.11 web1\nsshd 192.0.2.66 web1\nsshd 192.0.2.77 web2"; got != want {
		t.Fatalf("web1's bans after web2's hand ban went out:\n%s\nwant:\n%s", got, want)
	}
	if got, want := web2.status(t, t0.Add(5*time.Minute)).bans(), "sshd 192.0.2.10 web1\nsshd 192.0.2.11 web1\nsshd 192.0.2.77 web2"; got != want {
		t.Fatalf("web2's bans after the server came back:\n%s\nwant:\n%s", got, want)
	}

	// A ban by hand on web2 (manual jail) and an unban of web1's ban are
	// sent at once: web1's next run applies them before web2 runs again.
	lj(t, web2.cfg, 0, "--now", t0.Add(6*time.Minute).Format(time.RFC3339), "ban", "198.51.100.0/24")
	lj(t, web2.cfg, 0, "--now", t0.Add(6*time.Minute).Format(time.RFC3339), "unban", "192.0.2.10")
	web1.run(t, t0.Add(7*time.Minute), 0)
	web2.run(t, t0.Add(7*time.Minute), 0)
	if got, want := web1.status(t, t0.Add(7*time.Minute)).bans(), "manual 198.51.100.0/24 web2\nsshd 192.0.2.11 web1\nsshd 192.0.2.66 web1\nsshd 192.0.2.77 web2"; got != want {
		t.Fatalf("web1's bans after web2's ban and unban:\n%s\nwant:\n%s", got, want)
	}
	// Nothing goes back and forth: a second round changes nothing.
	web1.run(t, t0.Add(8*time.Minute), 0)
	web2.run(t, t0.Add(8*time.Minute), 0)
	if got, want := web2.status(t, t0.Add(8*time.Minute)).bans(), "manual 198.51.100.0/24 web2\nsshd 192.0.2.11 web1\nsshd 192.0.2.77 web2"; got != want {
		t.Fatalf("web2's bans after a second round:\n%s\nwant:\n%s", got, want)
	}
}

// TestFleetSlowAndKilled: a server that does not answer within
// fleet.timeout costs one line and exit 1; a run killed in the middle of
// its exchange loses nothing and sends nothing twice.
func TestFleetSlowAndKilled(t *testing.T) {
	pg := pgtest.NewCluster(t)
	srv := pg.Server()
	db := srv.Database(t)
	dsn := srv.DSN + " dbname=" + db
	web1 := newFleetHost(t, "web1", dsn, "  share: failures", "")
	lj(t, web1.cfg, 0, "fleet", "init")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	lock := func() pgx.Tx {
		tx, err := admin.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE logjail.bans, logjail.failures IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)

	// Slow: the tables are locked; the statement times out.
	tx := lock()
	web1.fail(t, "192.0.2.20", t0, 5)
	stderr := web1.run(t, t0.Add(time.Minute), 1)
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(stderr, "statement timeout") {
		t.Fatalf("run against a locked table said:\n%s\nwant one line naming the statement timeout", stderr)
	}
	if s := web1.status(t, t0.Add(time.Minute)); len(s.Bans) != 1 || s.Fleet.Pending != 2 {
		t.Fatalf("after the timeout: bans %s, fleet %+v; want the local ban and 2 changes pending (ban, failures)", s.bans(), s.Fleet)
	}

	// Killed: the run waits on the lock; it is killed; the lock goes.
	web1.fail(t, "192.0.2.21", t0.Add(time.Minute), 3)
	cmd := exec.Command(os.Args[0], "--config", web1.cfg, "--now", t0.Add(2*time.Minute).Format(time.RFC3339), "run")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	cmd.Args[0] = "logjail"
	cmd.Path, _ = os.Executable()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := srv.WaitLock(t, "logjail web1")
	cmd.Process.Kill()
	cmd.Wait()
	tx.Rollback(ctx)
	if !waiting {
		t.Fatal("the run never waited on the locked table")
	}
	web1.run(t, t0.Add(3*time.Minute), 0)
	if s := web1.status(t, t0.Add(3*time.Minute)); s.Fleet.Pending != 0 || s.Fleet.Failures != 0 {
		t.Fatalf("after the run that reached the server: %+v", s.Fleet)
	}
	var bans, failures int
	srv.QueryRow(t, db, "SELECT count(*) FROM logjail.bans WHERE host = 'web1'", &bans)
	srv.QueryRow(t, db, "SELECT coalesce(sum(count), 0) FROM logjail.failures WHERE host = 'web1'", &failures)
	if bans != 1 || failures != 8 {
		t.Errorf("server holds %d bans and %d failures of web1, want 1 and 8 (5 + 3, none twice)", bans, failures)
	}
	// Sent again by hand (as a run killed after the server's commit would):
	// the server's rows do not change.
	web1.run(t, t0.Add(4*time.Minute), 0)
	srv.QueryRow(t, db, "SELECT coalesce(sum(count), 0) FROM logjail.failures WHERE host = 'web1'", &failures)
	if failures != 8 {
		t.Errorf("after another run: %d failures, want 8", failures)
	}
}

// TestFleetCounting: an attacker spreads 2 failures over each of three
// hosts (maxretry 5): with share: failures every host bans it, with the
// same start and end whichever host's run comes first. Each host has a
// state file of its own and, as root with nft, a network namespace of
// its own whose nftables firewall must end up dropping both attackers.
func TestFleetCounting(t *testing.T) {
	pg := pgtest.NewCluster(t)
	srv := pg.Server()
	dsn := srv.DSN + " dbname=" + srv.Database(t)
	var hosts []*fleetHost
	var nss []string
	withNetns := os.Geteuid() == 0
	if withNetns {
		testenv.Netns(t, "nft")
	}
	for _, name := range []string{"h1", "h2", "h3"} {
		h := newFleetHost(t, name, dsn, "  share: failures", "")
		if withNetns {
			nss = append(nss, h.inNetns(t))
		}
		hosts = append(hosts, h)
	}
	lj(t, hosts[0].cfg, 0, "fleet", "init")
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	// 203.0.113.5 tries h1, then h2, then h3, a minute apart; each host
	// runs a minute after its failures. 203.0.113.6 goes the other way
	// round at the same times.
	for i, h := range hosts {
		h.fail(t, "203.0.113.5", t0.Add(time.Duration(i)*time.Minute), 2)
		hosts[2-i].fail(t, "203.0.113.6", t0.Add(time.Duration(i)*time.Minute), 2)
	}
	for i, h := range hosts {
		h.run(t, t0.Add(time.Duration(i+1)*time.Minute), 0)
	}
	if got := hosts[0].status(t, t0.Add(3*time.Minute)).bans(); got != "" {
		t.Fatalf("h1 banned before the fleet's count reached 5:\n%s", got)
	}
	if got := hosts[2].status(t, t0.Add(3*time.Minute)).bans(); got != "sshd 203.0.113.5 h3\nsshd 203.0.113.6 h3" {
		t.Fatalf("h3, whose run saw the count reach 6:\n%s", got)
	}
	for _, h := range hosts {
		h.run(t, t0.Add(4*time.Minute), 0)
	}
	for _, h := range hosts {
		h.run(t, t0.Add(5*time.Minute), 0) // and take each other's bans: the same
	}
	for _, h := range hosts {
		s := h.status(t, t0.Add(5*time.Minute))
		var got []string
		for _, b := range s.Bans {
			got = append(got, fmt.Sprintf("%s %s %s %s", b.Jail, b.IP, b.Start, *b.Until))
		}
		// Both reached 5 with the failures of 03:02:00: the ban starts
		// at that bucket and lasts the bantime.
		want := "sshd 203.0.113.5 2026-12-06T03:02:00Z 2026-12-06T04:02:00Z\nsshd 203.0.113.6 2026-12-06T03:02:00Z 2026-12-06T04:02:00Z"
		if strings.Join(got, "\n") != want {
			t.Errorf("%s's bans:\n%s\nwant:\n%s", h.name, strings.Join(got, "\n"), want)
		}
	}

	for i, ns := range nss {
		rules := inNS(t, ns, "nft", "list", "ruleset")
		t.Logf("%s in %s: %d lines of nft ruleset", hosts[i].name, ns, strings.Count(rules, "\n"))
		for _, a := range []string{"203.0.113.5", "203.0.113.6"} {
			if !strings.Contains(rules, a) {
				t.Errorf("%s's firewall (namespace %s) lacks %s:\n%s", hosts[i].name, ns, a, rules)
			}
		}
	}

	// status --fleet: every host's two bans, and both addresses failing
	// on all three hosts, 6 times.
	now := "--now=" + t0.Add(5*time.Minute).Format(time.RFC3339)
	var view struct {
		Hosts []struct {
			Host string
			Bans int
		}
		Bans    []struct{ Origin, IP string }
		Failing []struct {
			IP              string
			Hosts, Failures int
		}
	}
	if err := json.Unmarshal([]byte(lj(t, hosts[0].cfg, 0, now, "status", "--fleet", "--format", "json")), &view); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(view.Hosts, len(view.Bans), view.Failing); got != "[{h1 2} {h2 2} {h3 2}] 6 [{203.0.113.5 3 6} {203.0.113.6 3 6}]" {
		t.Errorf("status --fleet: %s", got)
	}
	table := lj(t, hosts[1].cfg, 0, now, "status", "--fleet")
	for _, want := range []string{"Fleet bans active at 2026-12-06T03:05:00Z: 6 from 3 hosts", "ORIGIN", "203.0.113.6", "Failing on the most hosts (inside findtime): 2"} {
		if !strings.Contains(table, want) {
			t.Errorf("status --fleet table lacks %q:\n%s", want, table)
		}
	}
}

// TestFleetTrust: the fleet's bans pass the host's guard (loopback,
// ignoreip) and max_bans caps what one run takes, with a warning.
func TestFleetTrust(t *testing.T) {
	srv := pgtest.New(t)
	db := srv.Database(t)
	dsn := srv.DSN + " dbname=" + db
	web1 := newFleetHost(t, "web1", dsn, "  max_bans: 3", "    ignoreip: [127.0.0.0/8, '::1', 192.0.2.0/28]")
	lj(t, web1.cfg, 0, "fleet", "init")
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	// Another host's rows, as a broken-into host could write them.
	srv.Exec(t, db, `INSERT INTO logjail.bans (host, jail, prefix, start, until, offense, seq)
SELECT 'evil', 'sshd', p::cidr, $1, $1::timestamptz + interval '1 hour', 1, row_number() OVER ()
FROM unnest(ARRAY['127.0.0.1/32', '::1/128', '192.0.2.5/32', '0.0.0.0/0', '198.51.100.1/32', '198.51.100.2/32', '198.51.100.3/32', '198.51.100.4/32']) p`, t0)
	stderr := web1.run(t, t0.Add(time.Minute), 0)
	if !strings.Contains(stderr, "more than fleet.max_bans (3)") {
		t.Errorf("first run said %q, want the max_bans warning", stderr)
	}
	web1.run(t, t0.Add(2*time.Minute), 0)
	web1.run(t, t0.Add(3*time.Minute), 0)
	got := web1.status(t, t0.Add(3*time.Minute)).bans()
	if want := "sshd 198.51.100.1 evil\nsshd 198.51.100.2 evil\nsshd 198.51.100.3 evil\nsshd 198.51.100.4 evil"; got != want {
		t.Errorf("web1 took from the fleet:\n%s\nwant the four outside loopback, ignoreip and the whole Internet:\n%s", got, want)
	}
}
