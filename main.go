// Command logjail bans the addresses that fail to log in, from cron.
//
// It reads the log lines written since its last run, counts authentication
// failures per address in time windows kept in a state file, brings the
// firewall to the bans that should be active now, and mails a digest. The
// same engine replays old logs into reports. See README.md.
package main

import (
	"io"
	"os"
)

func main() {
	stop := startProfile()
	code := realMain(os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain runs the program with the given arguments and streams and
// returns its exit code; tests call it directly.
func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	return exitCode(app.Run(reorderArgs(app, args)), stderr)
}
