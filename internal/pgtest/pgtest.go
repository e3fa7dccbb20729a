// Package pgtest gives each test a database of its own on the throwaway
// PostgreSQL cluster test.sh starts, dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

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
	t.Cleanup(func() { s.Exec(t, "", "DROP DATABASE "+name+" WITH (FORCE)") })
	return name
}
