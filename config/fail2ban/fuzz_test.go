package fail2ban

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead: any jail.conf and filter file give jails or problems, never a
// panic or a hang, and a problem always names a file.
func FuzzRead(f *testing.F) {
	f.Add("[DEFAULT]\nx = 1\n[j]\nenabled = true\nfilter = f[a=1, b=\"2\"]\nlogpath = /x\n", "[Init]\na = 0\n[Definition]\nfailregex = <a> <HOST>\n  %(a)s\n")
	f.Add("[INCLUDES]\nbefore = jail.conf\n[j]\nenabled = 1\nfilter = f\n", "[Definition]\nfailregex = <failregex>\n")
	f.Add("[j]\nenabled = yes\nfilter = f\nbantime = %(bantime)s\n", "[Definition]\nfailregex = %(known/failregex)s\n")
	f.Fuzz(func(t *testing.T, jail, filter string) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "filter.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "jail.conf"), []byte(jail), 0o644)
		os.WriteFile(filepath.Join(dir, "filter.d", "f.conf"), []byte(filter), 0o644)
		cfg, probs := Read(dir)
		for _, p := range probs {
			if p.File == "" && p.Msg == "" {
				t.Fatalf("empty problem")
			}
		}
		if cfg != nil {
			Convert(cfg)
		}
	})
}
