package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"logjail/internal/testenv"
)

// TestNoNetHTTP: the program that cron starts every minute does not link
// net/http, whose package init (and that of what it brings: the HTTP/2
// tables, crypto/tls's) every start of logjail would pay (issue 19).
// progressbar v3.16 and later import it for StartHTTPServer, which logjail
// never calls: go.mod keeps v3.15.0, and this fails if any dependency
// brings net/http back. Nor does it link the network clients that
// logjail-net holds (package remote): pgx, go-mail, crypto/tls and
// golang.org/x/text.
func TestNoNetHTTP(t *testing.T) {
	gotool := testenv.Tool(t, "go")
	out, err := exec.Command(gotool, "list", "-deps", "-tags", "urfave_cli_no_docs", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/urfave/cli/v2") || !slices.Contains(deps, "net") {
		t.Fatalf("go list -deps does not list logjail's dependencies: %.300s", out)
	}
	why, _ := exec.Command(gotool, "list", "-tags", "urfave_cli_no_docs", "-deps", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, ".").Output()
	for _, banned := range []string{"net/http", "crypto/tls", "github.com/jackc/pgx/v5", "github.com/wneessen/go-mail", "golang.org/x/text/secure/precis"} {
		if !slices.Contains(deps, banned) {
			continue
		}
		var importers []string
		for _, l := range strings.Split(string(why), "\n") {
			if p, imports, ok := strings.Cut(l, ": "); ok && slices.Contains(strings.Fields(imports), banned) {
				importers = append(importers, p)
			}
		}
		t.Errorf("logjail links %s, imported by %s", banned, strings.Join(importers, ", "))
	}
}
