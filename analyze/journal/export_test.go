package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParserFormat(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1765000000000001\nOTHER=x\nMESSAGE\n")
	binary.Write(&b, binary.LittleEndian, uint64(6))
	b.WriteString("a\nb\x00c=\n\n")
	b.WriteString("MESSAGE=" + strings.Repeat("y", 300<<10) + "\n_COMM=sshd\n\n")
	p := NewParser(&b, "OTHER")
	e, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Message()) != "a\nb\x00c=" || e.Realtime != 1765000000000001 || string(e.Cursor()) != "s=1;i=1" {
		t.Errorf("entry 1: %q %d %q", e.Message(), e.Realtime, e.Cursor())
	}
	if v, ok := e.Field("OTHER"); !ok || string(v) != "x" {
		t.Errorf("OTHER = %q %v", v, ok)
	}
	e, err = p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !e.Truncated || len(e.Message()) != 0 || string(e.Comm()) != "sshd" {
		t.Errorf("entry 2: truncated %v, message %d bytes, comm %q", e.Truncated, len(e.Message()), e.Comm())
	}
	if _, err := p.Next(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	for _, bad := range []string{"MESSAGE=x", "lower=x\n\n", "\n", "MESSAGE\n\x01\x00", "MESSAGE\n\x01\x00\x00\x00\x00\x00\x00\x00ab\n\n",
		"__REALTIME_TIMESTAMP=12a\n\n"} {
		_, err := NewParser(strings.NewReader(bad)).Next()
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err %v, want ErrFormat", bad, err)
		}
	}
}

// FuzzParser: no input makes the parser panic, loop or return an entry
// whose fields are not what the input said; binary and text encodings of
// the same value read the same.
func FuzzParser(f *testing.F) {
	f.Add([]byte("MESSAGE=hello\n_COMM=sshd\n\n"), []byte("x\ny"))
	f.Add([]byte("__CURSOR=s=1\n\n\n"), []byte{})
	f.Add([]byte("MESSAGE\n\x03\x00\x00\x00\x00\x00\x00\x00a\nb\n\n"), []byte("\x00"))
	f.Fuzz(func(t *testing.T, data, msg []byte) {
		p := NewParser(bytes.NewReader(data), "X")
		for i := 0; i < len(data)+1; i++ {
			if _, err := p.Next(); err != nil {
				break
			}
		}
		if len(msg) > MaxField {
			return
		}
		var b bytes.Buffer
		b.WriteString("MESSAGE\n")
		binary.Write(&b, binary.LittleEndian, uint64(len(msg)))
		b.Write(msg)
		b.WriteString("\n\n")
		if !bytes.ContainsAny(msg, "\n") {
			b.WriteString("MESSAGE=")
			b.Write(msg)
			b.WriteString("\n\n")
		}
		p = NewParser(&b)
		for {
			e, err := p.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", b.Bytes(), err)
			}
			if !bytes.Equal(e.Message(), msg) {
				t.Fatalf("message %q, want %q", e.Message(), msg)
			}
		}
	})
}
