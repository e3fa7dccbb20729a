//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $LOGJAIL_CPUPROFILE, in binaries
// built with -tags profile (bench/pgo.sh), and returns the function that
// ends it.
func startProfile() func() {
	path := os.Getenv("LOGJAIL_CPUPROFILE")
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
