package analyze

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileSource: a FileSource reads from an opaque position what was
// written since, and a path never seen and missing gives no position.
func TestFileSource(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "auth.log")
	var src Source = FileSource{Path: path, Now: now}
	if src.Key() != path {
		t.Errorf("key %q", src.Key())
	}
	var got []string
	collect := func(_ string, _ int64, line []byte) error { got = append(got, string(line)); return nil }
	pos, err := src.Read(ctx, nil, collect)
	if !errors.Is(err, fs.ErrNotExist) || pos != nil {
		t.Fatalf("missing path: pos %q, err %v", pos, err)
	}
	os.WriteFile(path, []byte("one\ntwo\n"), 0o644)
	if pos, err = src.Read(ctx, nil, collect); err != nil || len(got) != 2 {
		t.Fatalf("first read: %q, %v", got, err)
	}
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("three\n")
	f.Close()
	got = nil
	if _, err = src.Read(ctx, pos, collect); err != nil || len(got) != 1 || got[0] != "three" {
		t.Fatalf("read from the position: %q, %v", got, err)
	}
	got = nil
	if _, err = (FileSource{Path: path, FromEnd: true, Now: now}).Read(ctx, nil, collect); err != nil || len(got) != 0 {
		t.Fatalf("from the end: %q, %v", got, err)
	}
	if _, err = src.Read(ctx, []byte("{bad"), collect); err == nil {
		t.Fatal("a bad position was read")
	}
}
