// Command genjournal turns a syslog text log into journal export entries,
// for benchmarks that compare reading the journal with reading the same
// lines as text: each line becomes an entry with __REALTIME_TIMESTAMP from
// its time, _HOSTNAME, SYSLOG_IDENTIFIER and _COMM from its tag, _PID and
// MESSAGE, and the other fields journald stores with sshd's messages on
// Debian 12 (_SYSTEMD_UNIT=ssh.service, _CMDLINE, _CAP_EFFECTIVE, ...); a line "message repeated N times: [...]" becomes N entries, as
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
		// The rest of what journald stores with a syslog message of
		// Debian 12's sshd.
		b = append(b, "\n_TRANSPORT=syslog\nPRIORITY=6\nSYSLOG_FACILITY=4\n_UID=0\n_GID=0\n_EXE=/usr/sbin/sshd"...)
		b = append(b, "\n_CMDLINE=sshd: unknown [priv]\n_CAP_EFFECTIVE=1ffffffffff\n_SELINUX_CONTEXT=unconfined\n"...)
		b = append(b, "_SYSTEMD_CGROUP=/system.slice/ssh.service\n_SYSTEMD_UNIT=ssh.service\n_SYSTEMD_SLICE=system.slice\n"...)
		b = append(b, "_SYSTEMD_INVOCATION_ID=5d3a1e0b9c7f4e2a8b6d4c2e0f1a3b5c\n_MACHINE_ID=3d1219c7c4c5404aaa1f6d2a48adfda4\n_SOURCE_REALTIME_TIMESTAMP="...)
		b = strconv.AppendInt(b, us-17, 10)
		b = append(b, "\nSYSLOG_TIMESTAMP="...)
		b = append(b, line[:15]...)
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
