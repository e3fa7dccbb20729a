// Package remote runs logjail-net, the helper program that holds
// logjail's network clients: the fleet's PostgreSQL client (package
// fleet/pg) and the digest's mail delivery (package mail/deliver).
//
// cron starts logjail every minute, and most runs talk to no server.
// Linked into logjail, pgx and go-mail (with crypto/tls and golang.org/x/text)
// would run their package initialisation at every start, a cost Go
// cannot defer: about 0.5 ms, a third of a quiet run. A run that does
// talk to a server (a fleet host, a digest due) starts logjail-net for
// that call, as git starts git-remote-https.
//
// Each call is one process: its verb is the first argument ([VerbExchange]
// ...), its [Call] is JSON on the standard input, and its [Reply] JSON on
// the standard output. A call with a deadline passes it on, so that
// logjail-net ends with its own error (a statement timeout, an SMTP step's
// timeout); it is killed a little after the deadline otherwise, and when
// logjail dies. Secrets (a DSN's password, the password files' paths)
// travel on the pipe, never in the arguments.
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"logjail/config"
	"logjail/fleet"
	"logjail/mail"
)

// Program is the helper's file name.
const Program = "logjail-net"

// Protocol is the version of [Call] and [Reply]: logjail-net refuses a
// call of another, as from a logjail of another release.
const Protocol = 1

// Installed is where the Debian package puts logjail-net.
const Installed = "/usr/lib/logjail/" + Program

// The verbs.
const (
	VerbExchange = "fleet-exchange" // Call.Fleet, Call.Request: Reply.Response
	VerbInit     = "fleet-init"     // Call.Fleet: Reply.From, Reply.To
	VerbOverview = "fleet-overview" // Call.Fleet, Now, Windows, Top: Reply.Overview
	VerbMail     = "mail"           // Call.Digest, Call.Message
)

// Call is what logjail sends logjail-net.
type Call struct {
	Protocol int `json:"protocol"`
	// Deadline ends the call inside logjail-net; zero: none.
	Deadline time.Time `json:"deadline,omitzero"`
	// Host is this host's name: in the fleet, or said in HELO.
	Host string `json:"host"`

	Fleet   *config.Fleet    `json:"fleet,omitempty"`
	Request *fleet.Request   `json:"request,omitempty"`
	Now     time.Time        `json:"now,omitzero"`
	Windows []fleet.Counting `json:"windows,omitempty"`
	Top     int              `json:"top,omitempty"`

	Digest  *config.Digest `json:"digest,omitempty"`
	Message *mail.Message  `json:"message,omitempty"`
}

// Reply is what logjail-net answers. Error is the call's error, one line.
type Reply struct {
	Error    string          `json:"error,omitempty"`
	Response *fleet.Response `json:"response,omitempty"`
	From     int             `json:"from,omitempty"`
	To       int             `json:"to,omitempty"`
	Overview *fleet.Overview `json:"overview,omitempty"`
}

// Path finds logjail-net: $LOGJAIL_NET when set, else beside the running
// logjail (a build from source: `go build -o DIR . ./cmd/logjail-net`),
// else [Installed].
func Path() (string, error) {
	exe, _ := os.Executable()
	return find(os.Getenv("LOGJAIL_NET"), exe, Installed)
}

// find is Path with its inputs given: env is $LOGJAIL_NET, exe the
// running program, installed the package's place.
func find(env, exe, installed string) (string, error) {
	if env != "" {
		if !executable(env) {
			return "", fmt.Errorf("LOGJAIL_NET=%s: no such executable file", env)
		}
		return env, nil
	}
	var tried []string
	if exe != "" {
		tried = append(tried, filepath.Join(filepath.Dir(exe), Program))
	}
	tried = append(tried, installed)
	for _, p := range tried {
		if executable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found at %s: build it beside logjail (go build -o DIR . ./cmd/%s)", Program, strings.Join(tried, " or "), Program)
}

// executable reports whether p is a regular file someone may run.
func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// grace is how long past its deadline logjail-net may take to say that
// the deadline passed before it is killed.
const grace = 5 * time.Second

// run makes one call and returns the reply; an error the call ended with
// is returned as an error too.
func run(ctx context.Context, verb string, c *Call) (*Reply, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	c.Protocol = Protocol
	c.Deadline, _ = ctx.Deadline()
	in, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", Program, verb, err)
	}
	// Killed when ctx is cancelled, or grace after its deadline.
	kctx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			time.AfterFunc(grace, kill)
		} else {
			kill()
		}
	})
	defer stop()
	cmd := exec.CommandContext(kctx, path, verb)
	cmd.Args[0] = Program
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	// A logjail killed in the middle of a call takes logjail-net with
	// it, as when the clients ran in its own process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if kctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: killed %s after its deadline", Program, verb, grace)
		}
		if msg := firstLine(errb.String()); msg != "" {
			return nil, fmt.Errorf("%s %s: %s", Program, verb, msg)
		}
		return nil, fmt.Errorf("%s %s: %w", path, verb, err)
	}
	var r Reply
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("%s %s: its reply: %w", Program, verb, err)
	}
	if r.Error != "" {
		return &r, errors.New(r.Error)
	}
	return &r, nil
}

// firstLine is the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
