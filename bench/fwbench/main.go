// Command fwbench times logjail's firewall backends for bench/firewall.sh:
// N bans applied to an empty firewall, then a no-op reconcile of the same
// bans, inside the network namespace given with -netns (it refuses to run
// without one, so it never touches the host's own firewall).
//
//	fwbench -kind ipset -netns lj-bench-1 -n 100000
//	fwbench -emit-ipset FILE -n 100000      # the same members for a raw "ipset restore"
//
// The bans are N addresses counted up from 198.18.0.0 (the benchmarking
// range, 198.18.0.0/15: up to 131072), or beyond that from 100.64.0.0
// (the shared range, 100.64.0.0/10: up to 4194304), one jail "sshd" (tcp/22), each
// ending in an hour. Output: "apply SECONDS" and "noop SECONDS".
package main

import (
	"context"
	"flag"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"logjail/enforce"
)

func main() {
	kind := flag.String("kind", "ipset", "backend: iptables, ipset or nftables")
	netns := flag.String("netns", "", "network namespace to act in (required)")
	n := flag.Int("n", 100000, "number of bans (at most 4194304)")
	emit := flag.String("emit-ipset", "", "write the bans as an ipset restore script to this file and exit")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the no-op reconcile to this file")
	flag.Parse()
	cpuprofile = *profile
	if err := run(*kind, *netns, *n, *emit); err != nil {
		fmt.Fprintln(os.Stderr, "fwbench:", err)
		os.Exit(1)
	}
}

var cpuprofile string

func run(kind, netns string, n int, emit string) error {
	if n < 1 || n > 1<<22 {
		return fmt.Errorf("-n %d: want 1 to 4194304", n)
	}
	now := time.Now()
	bans := make([]enforce.Ban, n)
	base := netip.MustParseAddr("198.18.0.0").As4()
	if n > 1<<17 {
		base = netip.MustParseAddr("100.64.0.0").As4()
	}
	for i := range bans {
		a := base
		a[1] += byte(i >> 16)
		a[2] = byte(i >> 8)
		a[3] = byte(i)
		ip := netip.AddrFrom4(a)
		bans[i] = enforce.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(ip, 32), Until: now.Add(time.Hour)}
	}
	maxelem := max(enforce.DefaultMaxElem, 1<<bits.Len(uint(n)))
	if emit != "" {
		return emitIpset(emit, bans, maxelem)
	}
	if netns == "" {
		return fmt.Errorf("-netns is required: fwbench never touches the host's own firewall")
	}
	b, err := enforce.New(kind, enforce.Options{NetNS: netns, MaxElem: maxelem})
	if err != nil {
		return err
	}
	jails := []enforce.JailSpec{{Name: "sshd", Protocol: "tcp", Ports: "22"}}
	ctx := context.Background()

	start := time.Now()
	d, err := b.Apply(ctx, jails, bans, now)
	apply := time.Since(start)
	if err != nil {
		return err
	}
	if len(d.Added) != n {
		return fmt.Errorf("apply added %d bans, want %d", len(d.Added), n)
	}

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	start = time.Now()
	d, err = b.Apply(ctx, jails, bans, now)
	noop := time.Since(start)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if !d.Empty() {
		return fmt.Errorf("no-op reconcile changed %d/%d/%d bans", len(d.Added), len(d.Removed), len(d.Updated))
	}
	actual, err := b.Actual(ctx, now)
	if err != nil {
		return err
	}
	if len(actual) != n {
		return fmt.Errorf("kernel holds %d bans, want %d", len(actual), n)
	}
	fmt.Printf("apply %.4f\nnoop %.4f\n", apply.Seconds(), noop.Seconds())
	return nil
}

// emitIpset writes what logjail's ipset backend sends for these bans into
// an empty firewall: the same create line (hashsize sized to the members)
// and one add line per ban, for timing a bare "ipset restore".
func emitIpset(file string, bans []enforce.Ban, maxelem int) error {
	hashsize := 1024
	if m := len(bans) / 8; m > hashsize {
		hashsize = 1 << bits.Len(uint(m-1))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "create logjail-sshd-4 hash:net family inet hashsize %d maxelem %d timeout 0\n", hashsize, maxelem)
	for _, b := range bans {
		fmt.Fprintf(&sb, "add logjail-sshd-4 %s timeout 3600\n", b.Prefix.Addr())
	}
	return os.WriteFile(file, []byte(sb.String()), 0o644)
}
