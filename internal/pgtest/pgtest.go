// Package pgtest gives each test a database of its own on the throwaway
// PostgreSQL cluster test.sh starts, dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"logjail/internal/testenv"
)

// Server is the test cluster, reached as its superuser.
type Server struct {
	// DSN is the superuser's key=value connection string, without a
	// dbname.
	DSN string
}

// New returns the cluster (skipping, or in CI failing, the test without
// one).
func New(t testing.TB) *Server {
	return &Server{DSN: testenv.Postgres(t)}
}

// Exec runs SQL as the superuser in database db ("" for postgres).
func (s *Server) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	if db == "" {
		db = "postgres"
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN+" dbname="+db)
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Database creates an empty database owned by the superuser and returns
// its name; it is dropped after the test.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + strings.ToLower(hex.EncodeToString(b[:]))
	s.Exec(t, "", "CREATE DATABASE "+name)
	t.Cleanup(func() {
		// the test may have stopped its cluster: then there is nothing
		// to drop
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, s.DSN+" dbname=postgres"); err == nil {
			conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	return name
}

// Cluster is a PostgreSQL cluster a test made for itself, so that it can
// stop and start it (the fleet's server going down between runs).
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	// DSN reaches the cluster's superuser over its socket, without a
	// dbname.
	DSN string
	// opts are more server options (TLS).
	opts string
	uid  int
	gid  int
}

// NewCluster initialises and starts a cluster in a directory of its own
// (as user postgres when run as root), stopped and removed after the
// test. It needs PostgreSQL's server programs: LOGJAIL_TEST_PGBIN, or
// /usr/lib/postgresql/*/bin.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	testenv.Postgres(t)
	bin := os.Getenv("LOGJAIL_TEST_PGBIN")
	if bin == "" {
		m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(m) == 0 {
			testenv.Missing(t, "needs PostgreSQL's initdb (package postgresql)")
		}
		bin = filepath.Dir(m[len(m)-1])
	}
	dir, err := os.MkdirTemp("", "logjail-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Missing(t, "needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.uid, c.gid = uid, gid
		os.Chmod(dir, 0o755)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c.pg("pg_ctl", "-D", c.dir+"/data", "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.pg("initdb", "-D", dir+"/data", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-U", "postgres"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.DSN = fmt.Sprintf("host=%s port=%d user=postgres", dir, c.Port)
	c.Start()
	return c
}

func (c *Cluster) pg(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	return cmd.CombinedOutput()
}

// Start starts the cluster and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-k %s -p %d -c fsync=off -c listen_addresses=127.0.0.1", c.dir, c.Port) + c.opts
	if out, err := c.pg("pg_ctl", "-D", c.dir+"/data", "-w", "-l", c.dir+"/log", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(c.dir + "/log")
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the cluster (fast: connections are cut).
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.pg("pg_ctl", "-D", c.dir+"/data", "-w", "-m", "fast", "stop"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Server returns the cluster as a Server, for Exec and Database.
func (c *Cluster) Server() *Server { return &Server{DSN: c.DSN} }

// QueryRow runs a query as the superuser in database db and scans its
// one row into dest.
func (s *Server) QueryRow(t testing.TB, db, sql string, dest ...any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN+" dbname="+db)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// WaitLock reports whether a session of application name app comes to
// wait on a lock within about two seconds.
func (s *Server) WaitLock(t testing.TB, app string) bool {
	t.Helper()
	for range 100 {
		var n int
		if err := s.QueryRow(t, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"+app+"' AND wait_event_type = 'Lock'", &n); err == nil && n > 0 {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// EnableTLS restarts the cluster with TLS on its TCP port, with a
// server certificate for 127.0.0.1 signed by a CA of its own, and
// returns the CA's PEM file (for sslrootcert).
func (c *Cluster) EnableTLS() string {
	c.t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "logjail test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		c.t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		c.t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, der []byte, mode os.FileMode) string {
		path := filepath.Join(c.dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			c.t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			os.Chown(path, c.uid, c.gid)
		}
		return path
	}
	caFile := write("ca.pem", "CERTIFICATE", caDER, 0o644)
	crt := write("server.crt", "CERTIFICATE", der, 0o644)
	kf := write("server.key", "EC PRIVATE KEY", keyDER, 0o600)
	c.opts = fmt.Sprintf(" -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s", crt, kf)
	c.Stop()
	c.Start()
	return caFile
}
