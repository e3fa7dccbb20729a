//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $LOGJAIL_CPUPROFILE, in binaries
// built with -tags profile (bench/pgo.sh), and returns the function that
// ends it; and, at its end, the profile of the memory allocated to
// $LOGJAIL_MEMPROFILE.
func startProfile() func() {
	path := os.Getenv("LOGJAIL_CPUPROFILE")
	if mem := os.Getenv("LOGJAIL_MEMPROFILE"); mem != "" {
		runtime.MemProfileRate = 64 << 10
		return func() {
			runtime.GC() // the profile is as of the last collection
			f, err := os.Create(mem)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "logjail: memory profile %s: %v\n", mem, err)
			}
		}
	}
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "logjail: cpu profile %s: %v\n", path, err)
		os.Exit(1)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "logjail: cpu profile %s: %v\n", path, err)
		}
	}
}
