// Command floodlog writes an sshd log of failed passwords for the flood
// benchmark (bench/flood.sh): -n failures from -addrs distinct addresses,
// each line from a new sshd process, 20 ms apart. Addresses are IPv4 in
// 10.0.0.0/8, or with -nets N IPv6 spread over N /64 networks of
// 2001:db8::/48; they come in a scrambled order (consecutive lines are
// far apart in the key space), and with fewer addresses than failures
// each address comes back every -addrs lines.
//
//	go run ./bench/floodlog -n 1000000 -addrs 1000000 -nets 4 -o /tmp/flood.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "failures")
	addrs := flag.Int("addrs", 1000000, "distinct addresses (at most 2^24)")
	nets := flag.Int("nets", 0, "IPv6 /64 networks to spread the addresses over (0: IPv4)")
	start := flag.String("start", "2026-11-24T00:00:00Z", "time of the first line")
	out := flag.String("o", "-", "output file (- for stdout)")
	flag.Parse()
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil || *addrs < 1 || *addrs > 1<<24 {
		fmt.Fprintln(os.Stderr, "floodlog: bad -start or -addrs")
		os.Exit(2)
	}
	f := os.Stdout
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, "floodlog:", err)
			os.Exit(1)
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var line []byte
	for i := 0; i < *n; i++ {
		// An odd multiplier permutes 0..2^24-1: distinct and scrambled.
		x := uint32(i%*addrs) * 2654435761 & (1<<24 - 1)
		var a netip.Addr
		if *nets == 0 {
			a = netip.AddrFrom4([4]byte{10, byte(x >> 16), byte(x >> 8), byte(x)})
		} else {
			net := i % *addrs % *nets
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, byte(net), 0, 0, 0, 0, 0, byte(x >> 16), byte(x >> 8), byte(x)})
		}
		line = t.Add(time.Duration(i)*20*time.Millisecond).AppendFormat(line[:0], time.Stamp)
		line = append(line, " bench sshd["...)
		line = strconv.AppendInt(line, int64(1000+i%4000000), 10)
		line = append(line, "]: Failed password for root from "...)
		line = a.AppendTo(line)
		line = append(line, " port 4242 ssh2\n"...)
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "floodlog:", err)
		os.Exit(1)
	}
	if f != os.Stdout {
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "floodlog:", err)
			os.Exit(1)
		}
	}
}
