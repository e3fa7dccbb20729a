package analyze

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// BenchmarkFilterSSHD measures the sshd filter over the loghub sample, line
// splitting included, as `filter test` runs it.
func BenchmarkFilterSSHD(b *testing.B) {
	data, err := os.ReadFile("../testdata/loghub/OpenSSH_2k.log")
	if err != nil {
		b.Fatal(err)
	}
	data = bytes.Repeat(data[:bytes.LastIndexByte(data, '\n')+1], 50)
	f, _ := Builtin("sshd")
	ref := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	lines := 0
	for i := 0; i < b.N; i++ {
		m := f.New("normal")
		tp := NewTimeParser(ref, time.UTC)
		lr := NewLineReader(bytes.NewReader(data))
		var buf []Failure
		for {
			line, ok := lr.Next()
			if !ok {
				break
			}
			lines++
			buf, _ = m.Match(buf[:0], lr.Num(), line, tp)
		}
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}
