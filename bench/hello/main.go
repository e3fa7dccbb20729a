// Command hello is the Go hello world the start-up benchmarks measure
// logjail against (bench/start.sh, bench/fleetrun.sh), built by the same Go.
package main

import "fmt"

func main() { fmt.Println("hello, world") }
