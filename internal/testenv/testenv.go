// Package testenv lets a test go on only when the machine has what it
// needs: root, a program. Without it the test skips, except in CI
// (CI=true), where that is a failure: CI must run every test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Missing skips t, or fails it in CI, saying what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Tool returns the path of the program name, found on PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "needs %s: %v", name, err)
	}
	return p
}

// Root requires root, for the reason given ("to create a network
// namespace").
func Root(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root %s", why)
	}
}

// Netns requires what a test that changes a real firewall needs: root,
// ip(8) to create its network namespace, and the given programs.
func Netns(t testing.TB, tools ...string) {
	t.Helper()
	Root(t, "to create a network namespace")
	for _, tool := range append([]string{"ip"}, tools...) {
		Tool(t, tool)
	}
}

// Postgres returns the connection string of the throwaway PostgreSQL
// cluster test.sh starts (LOGJAIL_TEST_PG, a key=value DSN of a
// superuser), for tests that need a real server.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("LOGJAIL_TEST_PG")
	if dsn == "" {
		Missing(t, "needs a PostgreSQL server: LOGJAIL_TEST_PG (test.sh starts one)")
	}
	return dsn
}
