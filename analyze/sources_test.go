package analyze

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
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

// TestFileStateSame: same compares every field of a FileState and of
// its PrevFiles (a field it forgot would keep a stale position), and a
// quiet read returns the position it was given, byte for byte.
func TestFileStateSame(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	base := func() *FileState {
		return &FileState{Path: "/l", Dev: 1, Inode: 2, Offset: 3, Size: 4, ModTime: t0, Line: 5, Horizon: t0,
			Fingerprint: []byte("f"), Prev: []PrevFile{{Name: "l.1", Dev: 1, Inode: 3, Offset: 6, Line: 7, Size: 8,
				ModTime: t0, Fingerprint: []byte("g"), Seen: t0, Quiet: 1}}}
	}
	if a, b := base(), base(); !a.same(b) {
		t.Fatal("equal states differ")
	}
	// Change each field of the state, then of its PrevFile, in turn.
	for _, target := range []string{"state", "prev"} {
		n := reflect.TypeOf(FileState{}).NumField()
		if target == "prev" {
			n = reflect.TypeOf(PrevFile{}).NumField()
		}
		for i := 0; i < n; i++ {
			a, b := base(), base()
			v := reflect.ValueOf(b).Elem()
			if target == "prev" {
				v = v.FieldByName("Prev").Index(0)
			}
			f := v.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Uint64:
				f.SetUint(f.Uint() + 1)
			case reflect.Int64, reflect.Int:
				f.SetInt(f.Int() + 1)
			case reflect.Slice:
				if f.Type().Elem().Kind() == reflect.Uint8 {
					f.SetBytes([]byte("other"))
				} else {
					f.Set(reflect.Zero(f.Type()))
				}
			case reflect.Struct: // time.Time
				f.Set(reflect.ValueOf(t0.Add(time.Second)))
			default:
				t.Fatalf("%s field %s: kind %s not covered by this test", target, v.Type().Field(i).Name, f.Kind())
			}
			if a.same(b) {
				t.Errorf("%s field %s changed: same still true", target, v.Type().Field(i).Name)
			}
		}
	}

	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := FileSource{Path: path, Now: t0}
	pos, err := src.Read(ctx, nil, func(string, int64, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	pos = append([]byte(" "), pos...) // spelt otherwise, the same state
	next, err := src.Read(ctx, pos, func(string, int64, []byte) error { t.Error("a line read again"); return nil })
	if err != nil || string(next) != string(pos) {
		t.Errorf("quiet read: %q, %v; want the position given", next, err)
	}
}
