// Package f2btest finds the fail2ban that Debian's package installed and
// reads what logjail's tests take from it at test time: its own
// FilterReader's resolution of a filter (resolve.py, run with fail2ban's
// interpreter) and its annotated sample logs. Nothing of fail2ban is kept
// in this tree (GPL): the tests read the installed files.
package f2btest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"logjail/internal/testenv"
)

// Install is where the installed fail2ban keeps what the tests read.
type Install struct {
	Client  string // fail2ban-client
	Python  string // the interpreter fail2ban runs with (its #! line)
	Config  string // /etc/fail2ban
	Samples string // .../fail2ban/tests/files/logs
}

// Find locates the installed fail2ban, or reports it missing (a failure
// with CI=true, see testenv.Missing).
func Find(t testing.TB) Install {
	t.Helper()
	client := testenv.Tool(t, "fail2ban-client")
	f, err := os.Open(client)
	if err != nil {
		t.Fatalf("open %s: %v", client, err)
	}
	first, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	py := strings.TrimSpace(strings.TrimPrefix(first, "#!"))
	out, err := exec.Command(py, "-c", "import fail2ban, os; print(os.path.dirname(fail2ban.__file__))").Output()
	if err != nil {
		testenv.Missing(t, "needs fail2ban's python package (%s): %v", py, err)
	}
	pkg := strings.TrimSpace(string(out))
	in := Install{Client: client, Python: py, Config: "/etc/fail2ban", Samples: filepath.Join(pkg, "tests", "files", "logs")}
	if _, err := os.Stat(in.Samples); err != nil {
		testenv.Missing(t, "needs fail2ban's sample logs: %v", err)
	}
	return in
}

//go:embed resolve.py
var resolveScript string

// Resolve asks fail2ban's own FilterReader to resolve each request
// [config dir, filter name, {option: value}] and decodes its answer, a
// JSON list with one object per request, into out.
func Resolve(t testing.TB, in Install, reqs [][3]any, out any) {
	t.Helper()
	body, err := json.Marshal(reqs)
	if err != nil {
		t.Fatalf("resolve.py request: %v", err)
	}
	cmd := exec.Command(in.Python, "-c", resolveScript)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("resolve.py: %v: %s", err, stderr.String())
	}
	if err := json.Unmarshal(js, out); err != nil {
		t.Fatalf("resolve.py output: %v", err)
	}
}

// Filters lists the installed filters that have a sample log, by name.
func Filters(t testing.TB, in Install) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(in.Config, "filter.d"))
	if err != nil {
		t.Fatalf("list fail2ban filters: %v", err)
	}
	var names []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || strings.HasSuffix(n, "common") {
			continue
		}
		if _, err := os.Stat(filepath.Join(in.Samples, n)); err == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
