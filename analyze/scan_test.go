package analyze

import (
	"bytes"
	"strings"
	"testing"
)

// words returns every string over alphabet of length 0 to n.
func words(alphabet string, n int) []string {
	out := []string{""}
	prev := []string{""}
	for i := 0; i < n; i++ {
		var next []string
		for _, w := range prev {
			for _, c := range alphabet {
				next = append(next, w+string(c))
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

// The search helpers agree with package bytes on every pair of short strings.
func TestIndexHelpers(t *testing.T) {
	for _, b := range words("ab", 5) {
		for _, s := range words("ab", 3) {
			bb := []byte(b)
			if got, want := index(bb, s), bytes.Index(bb, []byte(s)); got != want {
				t.Fatalf("index(%q, %q) = %d, want %d", b, s, got, want)
			}
			if got, want := lastIndex(bb, s), bytes.LastIndex(bb, []byte(s)); got != want {
				t.Fatalf("lastIndex(%q, %q) = %d, want %d", b, s, got, want)
			}
			if got, want := hasPrefix(bb, s), strings.HasPrefix(b, s); got != want {
				t.Fatalf("hasPrefix(%q, %q) = %v, want %v", b, s, got, want)
			}
			if got, want := hasSuffix(bb, s), strings.HasSuffix(b, s); got != want {
				t.Fatalf("hasSuffix(%q, %q) = %v, want %v", b, s, got, want)
			}
			rest, ok := trimPrefix(bb, s)
			if want, wok := strings.CutPrefix(b, s); string(rest) != want || ok != wok {
				t.Fatalf("trimPrefix(%q, %q) = %q, %v; want %q, %v", b, s, rest, ok, want, wok)
			}
			rest, ok = trimSuffix(bb, s)
			if want, wok := strings.CutSuffix(b, s); string(rest) != want || ok != wok {
				t.Fatalf("trimSuffix(%q, %q) = %q, %v; want %q, %v", b, s, rest, ok, want, wok)
			}
		}
	}
}

func TestWordHelpers(t *testing.T) {
	tests := []struct {
		in                                string
		firstW, firstRest, lastRest, last string
		trimmed                           string
		digits                            bool
	}{
		{"", "", "<nil>", "<nil>", "", "", false},
		{"one", "one", "<nil>", "<nil>", "one", "one", false},
		{"one two three", "one", "two three", "one two", "three", "one two three", false},
		{"a  b", "a", " b", "a ", "b", "a  b", false},
		{"x \t ", "x", "\t ", "x \t", "", "x", false},
		{"123", "123", "<nil>", "<nil>", "123", "123", true},
		{"12a", "12a", "<nil>", "<nil>", "12a", "12a", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b := []byte(tt.in)
			w, r := firstWord(b)
			r2, w2 := lastWord(b)
			got := []string{string(w), orNil(r), orNil(r2), string(w2), string(trimSpaceRight(b))}
			want := []string{tt.firstW, tt.firstRest, tt.lastRest, tt.last, tt.trimmed}
			if strings.Join(got, "|") != strings.Join(want, "|") || isDigits(b) != tt.digits {
				t.Fatalf("got %q, isDigits %v; want %q, %v", got, isDigits(b), want, tt.digits)
			}
		})
	}
}

func TestUserString(t *testing.T) {
	long := strings.Repeat("u", 1000)
	if got := userString([]byte(long)); got != long[:256] {
		t.Fatalf("userString of 1000 bytes has %d bytes, want 256", len(got))
	}
	var in interner
	a, b := in.get([]byte("root")), in.get([]byte("admin"))
	if in.get([]byte("root")) != a || in.get([]byte("admin")) != b || in.get([]byte(long)) != long[:256] {
		t.Fatalf("interner returned other strings")
	}
	root := []byte("root")
	if n := testing.AllocsPerRun(100, func() { in.get(root) }); n != 0 {
		t.Fatalf("interner allocates %v times for a known name", n)
	}
}
