// Command genjournal turns a syslog text log into journal export entries,
// for benchmarks that compare reading the journal with reading the same
// lines as text: each line becomes an entry with __REALTIME_TIMESTAMP from
// its time, _HOSTNAME, SYSLOG_IDENTIFIER and _COMM from its tag, _PID and
// MESSAGE; a line "message repeated N times: [...]" becomes N entries, as
// journald keeps them. Lines that are no syslog record are left out. Pipe the output
// into systemd-journal-remote:
//
//	go run ./bench/genjournal -ref 2026-11-30T00:00:00Z corpus.log |
//	    /lib/systemd/systemd-journal-remote -o DIR/corpus.journal -
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"logjail/analyze"
)

func main() {
	refs := flag.String("ref", "", "reference time for dates without a year (RFC 3339; default now)")
	skip := flag.Int("skip", 0, "leave out the first N entries")
	limit := flag.Int("n", 0, "write at most N entries (0: all)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: genjournal [-ref TIME] [-skip N] [-n N] FILE")
		os.Exit(2)
	}
	ref := time.Now()
	if *refs != "" {
		var err error
		if ref, err = time.Parse(time.RFC3339, *refs); err != nil {
			fmt.Fprintln(os.Stderr, "genjournal:", err)
			os.Exit(2)
		}
	}
	if err := run(flag.Arg(0), ref, *skip, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "genjournal:", err)
		os.Exit(1)
	}
}

func run(path string, ref time.Time, skip, limit int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	lr := analyze.NewLineReader(f)
	tp := analyze.NewTimeParser(ref, time.UTC)
	var h analyze.Header
	n := 0
	var b []byte
	for {
		line, ok := lr.Next()
		if !ok {
			break
		}
		if !tp.Syslog(line, &h) {
			continue
		}
		n++
		if n <= skip {
			continue
		}
		if limit > 0 && n > skip+limit {
			break
		}
		us := h.Time.UnixMicro()
		b = b[:0]
		b = append(b, "__REALTIME_TIMESTAMP="...)
		b = strconv.AppendInt(b, us, 10)
		b = append(b, "\n__MONOTONIC_TIMESTAMP="...)
		b = strconv.AppendInt(b, us-1_700_000_000_000_000, 10)
		b = append(b, "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME="...)
		b = append(b, h.Host...)
		b = append(b, "\n_COMM="...)
		b = append(b, h.Prog...)
		b = append(b, "\nSYSLOG_IDENTIFIER="...)
		b = append(b, h.Prog...)
		if len(h.PID) > 0 {
			b = append(b, "\n_PID="...)
			b = append(b, h.PID...)
		}
		b = append(b, "\nMESSAGE="...)
		b = append(b, h.Msg...)
		b = append(b, "\n\n"...)
		// rsyslog's "message repeated N times" stands for N messages,
		// which journald stores one by one.
		for k := 0; k < h.Repeat; k++ {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	if err := lr.Err(); err != nil {
		return err
	}
	return w.Flush()
}
