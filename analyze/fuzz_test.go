package analyze

import (
	"bytes"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// chunkReader delivers data in reads whose sizes follow from seed, now and
// then returning nothing at all, as a pipe may.
type chunkReader struct {
	data []byte
	seed int
	i    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.i++
	if c.seed == 0 {
		n := copy(p, c.data)
		c.data = c.data[n:]
		return n, nil
	}
	if c.seed&1 == 1 && c.i%5 == 0 {
		return 0, nil
	}
	k := 1 + (c.seed*c.i)%1021
	n := copy(p[:min(k, len(p))], c.data)
	c.data = c.data[n:]
	return n, nil
}

func FuzzLineReader(f *testing.F) {
	for _, s := range []string{
		"", "a\nb\n", "a\r\nb", "\r\n\r\n", "\r", "\n", "a\x00b\n\xff\xfe\n", "tail",
		"Jun 21 16:47:48 host sshd[1]: x\nJun 21 16:47:49 host sshd[1]: y\r\n",
	} {
		f.Add([]byte(s), uint16(0), uint32(0))
		f.Add([]byte(s), uint16(1), uint32(0))
		f.Add([]byte(s), uint16(7), uint32(3<<3|4))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint16, fill uint32) {
		if fill != 0 {
			// Put a run of MaxLineLen-4 to MaxLineLen+3 bytes somewhere, so
			// that the fuzzer reaches the length limit with small inputs.
			at := int(fill>>3) % (len(data) + 1)
			run := bytes.Repeat([]byte{'a'}, MaxLineLen-4+int(fill&7))
			data = slices.Concat(data[:at], run, data[at:])
		}
		lr := NewLineReader(&chunkReader{data: data, seed: int(seed)})
		lr.Closed = seed&2 == 2
		checkAgainstRef(t, data, lr)
	})
}

func FuzzTimeParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add([]byte(tt.in), []byte(parseTests[0].in))
	}
	for _, in := range parseRejects {
		f.Add([]byte(in), []byte("2026-11-24T10:00:00+01:00"))
	}
	f.Add([]byte("10/Oct/2000:13:55:36 +01:00"), []byte("10/Oct/2000:13:55:36 +01:0x"))
	f.Add([]byte("Mar 29 02:30:00"), []byte("Mar 29 01:59:59"))
	f.Add([]byte("Feb 29 10:00:00"), []byte("Feb 28 10:00:00"))
	// Another second of the parsed line's minute.
	f.Add([]byte("Nov 24 10:00:59 host"), []byte("Nov 24 10:00:07 host"))
	f.Add([]byte("Nov 25 10:00:59 host"), []byte("Nov 25 10:00:07 host"))
	f.Add([]byte("Oct 25 02:30:59 host"), []byte("Oct 25 02:30:00 host"))
	f.Add([]byte("[Sun Dec 04 04:47:44.5 2005] x"), []byte("[Sun Dec 04 04:47:03.5 2005] x"))
	f.Add([]byte("2026-11-24T10:00:00+01:00"), []byte("2026-11-24T10:00:60+01:00"))
	berlin := mustLoc(f, "Europe/Berlin")
	ref := mustTime(f, refTime)
	f.Fuzz(func(t *testing.T, in, prev []byte) {
		// A parser that saw another line first (its caches warm) must
		// agree with a fresh one.
		warm := NewTimeParser(ref, berlin)
		warm.Parse(prev)
		got, n, ok := warm.Parse(in)
		want, wn, wok := NewTimeParser(ref, berlin).Parse(in)
		if ok != wok || n != wn || !got.Equal(want) || got.Format(time.RFC3339Nano) != want.Format(time.RFC3339Nano) {
			t.Fatalf("after %q, Parse(%q) = %v, %d, %v; fresh parser: %v, %d, %v", prev, in, got, n, ok, want, wn, wok)
		}
		if !ok {
			if n != 0 {
				t.Fatalf("Parse(%q) failed with n = %d", in, n)
			}
		} else {
			if n <= 0 || n > len(in) {
				t.Fatalf("Parse(%q) = n %d", in, n)
			}
			// The stamp alone means the same.
			again, an, aok := NewTimeParser(ref, berlin).Parse(in[:n])
			if !aok || an != n || !again.Equal(got) {
				t.Fatalf("Parse(%q) = %v, %d but Parse(%q) = %v, %d, %v", in, got, n, in[:n], again, an, aok)
			}
		}
		// Whatever Go's RFC 3339 parser accepts (within the real range of
		// zone offsets, and of the years Parse takes), Parse accepts whole
		// and agrees with.
		if std, err := time.Parse(time.RFC3339Nano, string(in)); err == nil && realOffset(in) &&
			std.Year() >= minYear && std.Year() <= maxYear {
			{
				if !ok || n != len(in) || !got.Equal(std) {
					t.Fatalf("Parse(%q) = %v, %d, %v; time.Parse gives %v", in, got, n, ok, std)
				}
			}
		}
		if t2, n2, ok2 := warm.ParseCLF(in); ok2 && (n2 <= 0 || n2 > len(in) || t2.IsZero()) {
			t.Fatalf("ParseCLF(%q) = %v, %d, true", in, t2, n2)
		}
	})
}

// realOffset reports whether an RFC 3339 stamp ends in Z or in an offset
// a real zone can have: at most 14 hours, minutes below 60 (time.Parse
// takes +01:60 for +02:00).
func realOffset(in []byte) bool {
	if len(in) < 6 || in[len(in)-1] == 'Z' || in[len(in)-1] == 'z' {
		return true
	}
	z := in[len(in)-6:]
	return string(z[1:3]) <= "14" && string(z[4:]) <= "59"
}

// within reports whether s lies inside b's bytes. An empty slice carries
// no bytes to check.
func within(s, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= start && p+uintptr(len(s)) <= start+uintptr(len(b))
}

func FuzzSyslog(f *testing.F) {
	for _, tt := range syslogTests {
		f.Add([]byte(tt.in), []byte(syslogTests[0].in))
	}
	for _, in := range syslogRejects {
		f.Add([]byte(in), []byte(""))
	}
	berlin := mustLoc(f, "Europe/Berlin")
	ref := mustTime(f, refTime)
	f.Fuzz(func(t *testing.T, line, prev []byte) {
		warm := NewTimeParser(ref, berlin)
		var h, w Header
		warm.Syslog(prev, &h)
		ok := warm.Syslog(line, &h)
		if wok := NewTimeParser(ref, berlin).Syslog(line, &w); ok != wok || hdrOf(&h) != hdrOf(&w) {
			t.Fatalf("after %q, Syslog(%q) = %+v, %v; fresh parser: %+v, %v", prev, line, hdrOf(&h), ok, hdrOf(&w), wok)
		}
		if !ok {
			return
		}
		for _, part := range [][]byte{h.Host, h.Prog, h.PID, h.Msg} {
			if !within(part, line) {
				t.Fatalf("Syslog(%q): %q does not point into the line", line, part)
			}
		}
		if h.Msg == nil || h.Repeat < 1 || h.Repeat > maxRepeat || h.Time.IsZero() {
			t.Fatalf("Syslog(%q) = %+v", line, hdrOf(&h))
		}
	})
}

func FuzzParseAddr(f *testing.F) {
	for _, tt := range parseAddrTests {
		f.Add([]byte(tt.in))
	}
	for _, tt := range hostPortTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := ParseAddr(b)
		if !bytes.ContainsRune(b, '%') {
			want, err := netip.ParseAddr(string(b))
			if err == nil {
				want = want.Unmap()
			}
			if ok != (err == nil) || a != want {
				t.Fatalf("ParseAddr(%q) = %v, %v; netip: %v, %v", b, a, ok, want, err)
			}
		}
		hp, hpok := ParseHostPort(b)
		name := IsHostname(b)
		hostOf(b)
		if !ok {
			return
		}
		if !hpok || hp != a || name {
			t.Fatalf("ParseAddr(%q) = %v but ParseHostPort gives %v, %v and IsHostname %v", b, a, hp, hpok, name)
		}
		forms := [][]byte{slices.Concat([]byte("["), b, []byte("]")), slices.Concat([]byte("["), b, []byte("]:22"))}
		if a.Is4() && !bytes.Contains(b, []byte(":")) {
			forms = append(forms, slices.Concat(b, []byte(":22")))
		}
		for _, form := range forms {
			if got, ok := ParseHostPort(form); !ok || got != a {
				t.Fatalf("ParseHostPort(%q) = %v, %v; want %v", form, got, ok, a)
			}
		}
	})
}
