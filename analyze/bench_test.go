package analyze

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
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

// BenchmarkReplay measures Replay over a corpus made of copies of the loghub
// sample, as bench/gencorpus makes them: each copy shifted by the sample's
// span and with addresses of its own, so attackers, bans and the maps grow
// as in a long log. The plain corpus shows the matcher and the engine; the
// gzip one adds inflating, as `logjail replay` of a rotated log does.
func BenchmarkReplay(b *testing.B) {
	const copies = 100
	lines := loghubLines(b)
	first, _ := time.Parse(time.Stamp, lines[0][:15])
	last, _ := time.Parse(time.Stamp, lines[len(lines)-1][:15])
	span := last.Sub(first) + time.Minute
	ipv4 := regexp.MustCompile(`\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b`)
	all := make([]string, 0, copies*len(lines))
	for c := range copies {
		for _, l := range lines {
			ts, _ := time.Parse(time.Stamp, l[:15])
			rest := ipv4.ReplaceAllStringFunc(l[15:], func(s string) string {
				a := netip.MustParseAddr(s).As4()
				v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) + uint32(c*7919)
				v = v%(223<<24) + 1<<24 // unicast, never 0.x or multicast
				return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
			})
			all = append(all, ts.Add(time.Duration(c)*span).Format(time.Stamp)+rest)
		}
	}
	dir := b.TempDir()
	mtime := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, gz := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "gzip"}[gz]
		path := filepath.Join(dir, "corpus-"+name)
		writeLog(b, path, all, gz, mtime)
		j := sshdJail(b, 5)
		j.Policy.Ignore = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		j.Policy.Prefix6 = 64
		o := ReplayOptions{Jails: []ReplayJail{j}, Loc: time.UTC}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				st, err := Replay(context.Background(), []string{path}, o)
				if err != nil {
					b.Fatal(err)
				}
				n += st.Lines
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
