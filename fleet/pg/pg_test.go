package pg

import (
	"context"
	"errors"
	"fmt"
	"logjail/fleet"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"logjail/config"
	"logjail/internal/pgtest"
	"logjail/state"
)

func connect(t *testing.T, dsn, host string) *Client {
	t.Helper()
	c, err := Connect(context.Background(), &config.Fleet{DSN: dsn, Timeout: 5 * time.Second}, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// fleetDB returns the DSN of a fresh database with the schema made.
func fleetDB(t *testing.T) (*pgtest.Server, string, string) {
	srv := pgtest.New(t)
	db := srv.Database(t)
	dsn := srv.DSN + " dbname=" + db
	if _, _, err := Init(context.Background(), connect(t, dsn, "admin")); err != nil {
		t.Fatal(err)
	}
	return srv, db, dsn
}

func TestInitTwiceAtOnce(t *testing.T) {
	srv := pgtest.New(t)
	dsn := srv.DSN + " dbname=" + srv.Database(t)
	var wg sync.WaitGroup
	froms := make([]int, 4)
	errs := make([]error, 4)
	for i := range froms {
		c := connect(t, dsn, "h")
		wg.Add(1)
		go func() {
			defer wg.Done()
			froms[i], _, errs[i] = Init(context.Background(), c)
		}()
	}
	wg.Wait()
	migrated := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("init %d: %v", i, err)
		}
		if froms[i] == 0 {
			migrated++
		}
	}
	if migrated != 1 {
		t.Errorf("%d inits migrated from version 0 (froms %v), want exactly 1", migrated, froms)
	}
	if from, to, err := Init(context.Background(), connect(t, dsn, "h")); err != nil || from != SchemaVersion || to != SchemaVersion {
		t.Errorf("init again = %d, %d, %v; want nothing to do", from, to, err)
	}
}

func TestExchangeWithoutSchema(t *testing.T) {
	srv := pgtest.New(t)
	c := connect(t, srv.DSN+" dbname="+srv.Database(t), "web1")
	_, err := c.Exchange(context.Background(), fleet.Request{Now: time.Now(), Cursor: state.FleetCursor{}})
	if !errors.Is(err, ErrNoSchema) || !strings.Contains(err.Error(), "fleet init") {
		t.Fatalf("exchange without schema: %v, want ErrNoSchema naming fleet init", err)
	}
}

func ban(jail, addr string, start time.Time, d time.Duration) *state.Ban {
	b := &state.Ban{Jail: jail, Prefix: netip.MustParsePrefix(addr), Start: start, Offense: 1}
	if d > 0 {
		b.Until = start.Add(d)
	}
	return b
}

func TestExchange(t *testing.T) {
	_, _, dsn := fleetDB(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	a, b := connect(t, dsn, "web1"), connect(t, dsn, "web2")
	jails := []string{"sshd", "manual"}
	send := []state.FleetEntry{
		{Seq: 1, Kind: state.FleetBan, Ban: ban("sshd", "192.0.2.1/32", now, time.Hour)},
		{Seq: 2, Kind: state.FleetBan, Ban: ban("manual", "198.51.100.0/24", now, 0)},
		{Seq: 3, Kind: state.FleetBan, Ban: ban("nginx", "192.0.2.9/32", now, time.Hour)},                  // not read: nginx takes no part
		{Seq: 4, Kind: state.FleetBan, Ban: ban("sshd", "192.0.2.2/32", now.Add(-2*time.Hour), time.Hour)}, // over
	}
	if _, err := a.Exchange(ctx, fleet.Request{Now: now, Send: send, Jails: jails, Cursor: state.FleetCursor{}}); err != nil {
		t.Fatal(err)
	}
	r, err := b.Exchange(ctx, fleet.Request{Now: now, Jails: jails, Cursor: state.FleetCursor{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Bans) != 2 || r.Bans[0].Origin != "web1" || r.Bans[1].Origin != "web1" {
		t.Fatalf("web2 read %+v, want the sshd and manual bans of web1", r.Bans)
	}
	for _, got := range r.Bans {
		if got.Jail == "manual" && !got.Permanent() {
			t.Errorf("manual ban read as %+v, want permanent", got)
		}
		if got.Jail == "sshd" && !got.Until.Equal(now.Add(time.Hour)) {
			t.Errorf("sshd ban until %v, want %v", got.Until, now.Add(time.Hour))
		}
	}
	// Nothing new: the cursor reads nothing again.
	r2, err := b.Exchange(ctx, fleet.Request{Now: now, Jails: jails, Cursor: r.Cursor})
	if err != nil || len(r2.Bans) != 0 {
		t.Fatalf("second read: %+v, %v; want nothing", r2, err)
	}
	// The same entries sent again (a run killed before its state's
	// commit) change nothing: no row is rewritten, nothing read again.
	if _, err := a.Exchange(ctx, fleet.Request{Now: now, Send: send, Jails: jails, Cursor: state.FleetCursor{}}); err != nil {
		t.Fatal(err)
	}
	r3, err := b.Exchange(ctx, fleet.Request{Now: now, Jails: jails, Cursor: r2.Cursor})
	if err != nil || len(r3.Bans) != 0 {
		t.Fatalf("after a resend: %+v, %v; want nothing new", r3.Bans, err)
	}
	// An unban by web1: read by web2, and the ban is no longer read by a
	// newcomer.
	un := []state.FleetEntry{{Seq: 5, Kind: state.FleetUnban, Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32"), At: now.Add(time.Minute)}}
	if _, err := a.Exchange(ctx, fleet.Request{Now: now.Add(time.Minute), Send: un, Jails: jails, Cursor: state.FleetCursor{}}); err != nil {
		t.Fatal(err)
	}
	r4, err := b.Exchange(ctx, fleet.Request{Now: now.Add(time.Minute), Jails: jails, Cursor: r3.Cursor})
	if err != nil || len(r4.Unbans) != 1 || r4.Unbans[0].Host != "web1" {
		t.Fatalf("unban read: %+v, %v", r4.Unbans, err)
	}
	c := connect(t, dsn, "web3")
	r5, err := c.Exchange(ctx, fleet.Request{Now: now.Add(time.Minute), Jails: jails, Cursor: state.FleetCursor{}})
	if err != nil || len(r5.Bans) != 1 || r5.Bans[0].Jail != "manual" {
		t.Fatalf("a newcomer read %+v, %v; want the manual ban alone", r5.Bans, err)
	}
}

func TestExchangeMaxBans(t *testing.T) {
	_, _, dsn := fleetDB(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	a, b := connect(t, dsn, "web1"), connect(t, dsn, "web2")
	var send []state.FleetEntry
	for i := range 25 {
		send = append(send, state.FleetEntry{Seq: uint64(i + 1), Kind: state.FleetBan,
			Ban: ban("sshd", netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String()+"/32", now, time.Hour)})
	}
	if _, err := a.Exchange(ctx, fleet.Request{Now: now, Send: send, Jails: []string{"sshd"}, Cursor: state.FleetCursor{}}); err != nil {
		t.Fatal(err)
	}
	cur := state.FleetCursor{}
	seen := map[netip.Prefix]bool{}
	for run := 0; run < 3; run++ {
		r, err := b.Exchange(ctx, fleet.Request{Now: now, Jails: []string{"sshd"}, MaxBans: 10, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		if want := run < 2; r.Capped != want {
			t.Errorf("run %d: capped %v, want %v", run, r.Capped, want)
		}
		for _, x := range r.Bans {
			if seen[x.Prefix] {
				t.Errorf("run %d read %s again", run, x.Prefix)
			}
			seen[x.Prefix] = true
		}
		cur = r.Cursor
	}
	if len(seen) != 25 {
		t.Errorf("three runs of at most 10 read %d bans, want all 25", len(seen))
	}
}

// TestHostRole checks the documented per-host role: it reads every row
// and writes only the rows of its own name.
func TestHostRole(t *testing.T) {
	srv, db, _ := fleetDB(t)
	ctx := context.Background()
	for _, h := range []string{"web1", "web2"} {
		srv.Exec(t, db, "DROP ROLE IF EXISTS "+h)
		t.Cleanup(func() { srv.Exec(t, db, "DROP OWNED BY "+h+"; DROP ROLE IF EXISTS "+h) })
		srv.Exec(t, db, "CREATE ROLE "+h+" LOGIN PASSWORD 'pw-"+h+"'")
		srv.Exec(t, db, Grants(h))
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("pw-web1\n"), 0o644)
	tcp := tcpDSN(t, srv.DSN) + " dbname=" + db
	f := &config.Fleet{DSN: tcp + " user=web1", PasswordFile: pw, Timeout: 5 * time.Second}
	if _, err := Connect(ctx, f, "web1"); !errors.Is(err, ErrPasswordFile) {
		t.Fatalf("password file 0644: %v, want ErrPasswordFile", err)
	}
	os.Chmod(pw, 0o600)
	c1, err := Connect(ctx, f, "web1")
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	own := []state.FleetEntry{{Seq: 1, Kind: state.FleetBan, Ban: ban("sshd", "192.0.2.1/32", now, time.Hour)}}
	if _, err := c1.Exchange(ctx, fleet.Request{Now: now, Send: own, Jails: []string{"sshd"}, Cursor: state.FleetCursor{}}); err != nil {
		t.Fatalf("web1 writing its own row: %v", err)
	}
	// web1 posing as web2: refused by row-level security.
	c1.host = "web2"
	if _, err := c1.Exchange(ctx, fleet.Request{Now: now, Send: own, Jails: []string{"sshd"}, Cursor: state.FleetCursor{}}); err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Fatalf("web1 writing a web2 row: %v, want a row-level security refusal", err)
	}
	os.WriteFile(pw, []byte("pw-web2\n"), 0o600)
	c2, err := Connect(ctx, &config.Fleet{DSN: tcp + " user=web2", PasswordFile: pw, Timeout: 5 * time.Second}, "web2")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	r, err := c2.Exchange(ctx, fleet.Request{Now: now, Jails: []string{"sshd"}, Cursor: state.FleetCursor{}})
	if err != nil || len(r.Bans) != 1 || r.Bans[0].Origin != "web1" {
		t.Fatalf("web2 reads %+v, %v; want web1's ban", r, err)
	}
	tag, err := c2.conn.Exec(ctx, "DELETE FROM logjail.bans")
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("web2 deleting every ban: %v rows, %v; want none deleted", tag.RowsAffected(), err)
	}
	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	if _, err := Connect(ctx, &config.Fleet{DSN: tcp + " user=web2", PasswordFile: pw, Timeout: 5 * time.Second}, "web2"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("wrong password: %v", err)
	}
}

// tcpDSN turns the test cluster's socket DSN into one for 127.0.0.1 on
// the same port: password logins go over TCP (the socket trusts).
func tcpDSN(t *testing.T, dsn string) string {
	var out []string
	for _, kv := range strings.Fields(dsn) {
		switch {
		case strings.HasPrefix(kv, "host="):
			out = append(out, "host=127.0.0.1")
		case strings.HasPrefix(kv, "user="):
		default:
			out = append(out, kv)
		}
	}
	return strings.Join(out, " ")
}

// TestTLSVerifyFull connects with sslmode=verify-full to a server whose
// certificate a CA of the test signed: with that CA it connects over
// TLS, with another CA it refuses.
func TestTLSVerifyFull(t *testing.T) {
	pg := pgtest.NewCluster(t)
	ca := pg.EnableTLS()
	srv := pg.Server()
	db := srv.Database(t)
	srv.Exec(t, db, "CREATE ROLE web1 LOGIN PASSWORD 'pw-web1'")
	t.Cleanup(func() { srv.Exec(t, db, "DROP ROLE IF EXISTS web1") })
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("pw-web1\n"), 0o600)
	ctx := context.Background()
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=web1 sslmode=verify-full sslrootcert=%s", pg.Port, db, ca)
	c, err := Connect(ctx, &config.Fleet{DSN: dsn, PasswordFile: pw, Timeout: 5 * time.Second}, "web1")
	if err != nil {
		t.Fatalf("verify-full with the server's CA: %v", err)
	}
	var ssl bool
	if err := c.conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("connection uses TLS: %v, %v", ssl, err)
	}
	c.Close()
	// Another cluster's CA: the server's certificate is refused.
	other := pgtest.NewCluster(t).EnableTLS()
	bad := strings.Replace(dsn, "sslrootcert="+ca, "sslrootcert="+other, 1)
	if _, err := Connect(ctx, &config.Fleet{DSN: bad, PasswordFile: pw, Timeout: 5 * time.Second}, "web1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("verify-full with another CA: %v, want a certificate error", err)
	}
}

// TestExchangeRetriesSerialization: a row this exchange writes is changed
// by a transaction that commits after the exchange's began (as the server
// side of a run killed mid-exchange does): the exchange is tried again
// and succeeds, its rows written once.
func TestExchangeRetriesSerialization(t *testing.T) {
	srv, db, dsn := fleetDB(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	web1 := connect(t, dsn, "web1")
	first := []state.FleetEntry{{Seq: 1, Kind: state.FleetBan, Ban: ban("sshd", "192.0.2.1/32", now, time.Hour)}}
	if _, err := web1.Exchange(ctx, fleet.Request{Now: now, Send: first, Jails: []string{"sshd"}, Cursor: state.FleetCursor{}}); err != nil {
		t.Fatal(err)
	}
	// Another transaction holds the row...
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE logjail.bans SET offense = 7 WHERE host = 'web1'"); err != nil {
		t.Fatal(err)
	}
	// ... while the exchange, its snapshot taken, waits to write it ...
	second := []state.FleetEntry{{Seq: 2, Kind: state.FleetBan, Ban: ban("sshd", "192.0.2.1/32", now, 2*time.Hour)}}
	done := make(chan error, 1)
	go func() {
		_, err := web1.Exchange(ctx, fleet.Request{Now: now, Send: second, Jails: []string{"sshd"}, Cursor: state.FleetCursor{}})
		done <- err
	}()
	waiting := srv.WaitLock(t, "logjail web1")
	if !waiting {
		tx.Rollback(ctx)
		t.Fatal("the exchange never waited on the row")
	}
	// ... and commits: the exchange's write fails to serialize once.
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("exchange after a serialization failure: %v", err)
	}
	var until time.Time
	var seq int64
	srv.QueryRow(t, db, "SELECT until, seq FROM logjail.bans WHERE host = 'web1'", &until, &seq)
	if seq != 2 || !until.Equal(now.Add(2*time.Hour)) {
		t.Errorf("web1's ban: seq %d until %s, want the second exchange's (seq 2, %s)", seq, until, now.Add(2*time.Hour))
	}
}
