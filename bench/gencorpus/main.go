// Command gencorpus writes a large sshd log made of copies of a real one,
// for benchmarks: each copy has its IPv4 addresses rewritten (so the number
// of distinct addresses grows with the copies, up to -addrs) and its times
// shifted forward by the span of the original, so the result reads as one
// long, ordered log. With -cycle N the addresses of copy c come back in
// copy c+N: more lines, the same attackers.
//
//	go run ./bench/gencorpus -lines 1000000 -o /tmp/corpus.log testdata/loghub/OpenSSH_2k.log
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var ipv4 = regexp.MustCompile(`\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b`)

func main() {
	lines := flag.Int("lines", 1000000, "lines to write")
	out := flag.String("o", "-", "output file (- for stdout); a name ending in .gz is gzip-compressed")
	addrs := flag.Int("addrs", 1<<20, "rewrite addresses so that at most this many distinct ones appear")
	cycle := flag.Int("cycle", 0, "reuse the addresses of copy c in copy c+N (0: every copy has its own)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gencorpus [-lines N] [-o FILE] SEED.log")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, *lines, *addrs, *cycle); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

type seedLine struct {
	t    time.Time
	rest []byte // the line after its 15-byte BSD timestamp
}

func run(seedPath, outPath string, n, addrs, cycle int) error {
	data, err := os.ReadFile(seedPath)
	if err != nil {
		return err
	}
	var seed []seedLine
	for _, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) < 16 {
			continue
		}
		t, err := time.Parse("Jan _2 15:04:05", string(l[:15]))
		if err != nil {
			return fmt.Errorf("%s: %q: %w", seedPath, l[:15], err)
		}
		seed = append(seed, seedLine{t.AddDate(2025, 0, 0), l[15:]})
	}
	if len(seed) == 0 {
		return fmt.Errorf("%s: no lines", seedPath)
	}
	span := seed[len(seed)-1].t.Sub(seed[0].t) + time.Minute

	var w io.Writer = os.Stdout
	if outPath != "-" {
		f, err := os.Create(outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var zw *gzip.Writer
	if strings.HasSuffix(outPath, ".gz") {
		zw = gzip.NewWriter(bw)
		w = zw
	} else {
		w = bw
	}
	var buf []byte
	for copyN := 0; n > 0; copyN++ {
		shift := time.Duration(copyN) * span
		for _, s := range seed {
			if n == 0 {
				break
			}
			buf = s.t.Add(shift).AppendFormat(buf[:0], "Jan _2 15:04:05")
			c := copyN
			if cycle > 0 {
				c %= cycle
			}
			buf = append(buf, rewrite(s.rest, c, addrs)...)
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
			n--
		}
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// rewrite gives copy c of a line its own addresses: the first octet's
// neighbourhood stays, the last two octets take the copy number in, so the
// same attacker keeps one address within a copy.
func rewrite(b []byte, c, addrs int) []byte {
	if c == 0 {
		return b
	}
	return ipv4.ReplaceAllFunc(b, func(m []byte) []byte {
		p := ipv4.FindSubmatch(m)
		var o [4]int
		for i := range o {
			o[i], _ = strconv.Atoi(string(p[i+1]))
		}
		v := (o[0]<<24 | o[1]<<16 | o[2]<<8 | o[3]) + c*7919
		v = v % (addrs + 1<<24)
		v = v%(223<<24) + 1<<24 // stay in unicast 1.0.0.0-223.255.255.255
		return []byte(fmt.Sprintf("%d.%d.%d.%d", v>>24&255, v>>16&255, v>>8&255, v&255))
	})
}
