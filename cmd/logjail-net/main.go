// Command logjail-net holds logjail's network clients: the fleet's
// PostgreSQL client and the digest's mail delivery. logjail runs it for
// the calls that need them (package remote), so that its own start,
// every minute from cron, does not pay for them. It is not for people.
//
// Install it beside logjail, or at /usr/lib/logjail/logjail-net (the
// Debian package's place); LOGJAIL_NET names another path.
package main

import (
	"os"

	"logjail/remote/serve"
)

func main() {
	os.Exit(serve.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
