package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
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

func TestAppendTime(t *testing.T) {
	var e Entry
	for _, us := range []int64{0, 1, 1765000000123456, 1765003599999999, 1765003600000000, 1795514401000000, 4102444800000000 - 1} {
		e.Realtime = us
		tm := time.UnixMicro(us).UTC()
		got := string(e.appendTime(nil, tm))
		if want := tm.Format("2006-01-02T15:04:05.000000Z"); got != want {
			t.Errorf("%d: %s, want %s", us, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	entry := func(fields string) *Entry {
		p := NewParser(strings.NewReader(fields+"\n\n"), "_SYSTEMD_UNIT", "X")
		e, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	m, err := ParseMatch([]string{"_COMM=sshd", "_COMM=sshd-session", "_SYSTEMD_UNIT=ssh.service", "+", "X=1"})
	if err != nil {
		t.Fatal(err)
	}
	for fields, want := range map[string]bool{
		"_COMM=sshd\n_SYSTEMD_UNIT=ssh.service":         true,
		"_COMM=sshd-session\n_SYSTEMD_UNIT=ssh.service": true,
		"_COMM=sshd\n_SYSTEMD_UNIT=cron.service":        false,
		"_COMM=sshd":                                    false,
		"SYSLOG_IDENTIFIER=sshd\nX=1":                   true,
		"_COMM=logger\nSYSLOG_IDENTIFIER=sshd":          false,
	} {
		if got := m.Matches(entry(fields)); got != want {
			t.Errorf("%q: %v, want %v", fields, got, want)
		}
	}
	for _, bad := range [][]string{{"+"}, {"A=1", "+"}, {"a=1"}, {"A"}, {"+", "A=1"}} {
		if _, err := ParseMatch(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
