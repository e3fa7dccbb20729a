package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFind: $LOGJAIL_NET first, then beside logjail, then the package's
// place; an error names every place tried.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	bin, lib := filepath.Join(dir, "bin"), filepath.Join(dir, "lib")
	os.Mkdir(bin, 0o755)
	os.Mkdir(lib, 0o755)
	exe, installed := filepath.Join(bin, "logjail"), filepath.Join(lib, Program)
	if _, err := find("", exe, installed); err == nil || !strings.Contains(err.Error(), filepath.Join(bin, Program)+" or "+installed) {
		t.Errorf("with none: %v", err)
	}
	os.WriteFile(installed, nil, 0o755)
	if p, err := find("", exe, installed); p != installed || err != nil {
		t.Errorf("installed only: %q, %v", p, err)
	}
	os.WriteFile(filepath.Join(bin, Program), nil, 0o644) // not executable
	if p, _ := find("", exe, installed); p != installed {
		t.Errorf("a file beside that cannot run: %q", p)
	}
	os.Chmod(filepath.Join(bin, Program), 0o755)
	if p, _ := find("", exe, installed); p != filepath.Join(bin, Program) {
		t.Errorf("beside logjail: %q", p)
	}
	if p, err := find(installed, exe, ""); p != installed || err != nil {
		t.Errorf("LOGJAIL_NET: %q, %v", p, err)
	}
	if _, err := find(filepath.Join(dir, "nothing"), exe, installed); err == nil || !strings.Contains(err.Error(), "LOGJAIL_NET="+filepath.Join(dir, "nothing")+": no such executable file") {
		t.Errorf("LOGJAIL_NET naming nothing: %v", err)
	}
}
