package enforce

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
)

// target is where a backend acts: the process's own network namespace, or
// the named one in netns. Every command and netlink socket goes through
// it, so that tests can point a backend at a namespace of their own.
type target struct {
	netns string
}

// command builds the command name args, run inside the target namespace
// with "ip netns exec" when there is one.
func (t target) command(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, fmt.Errorf("%s is not installed (%w)", name, ErrToolMissing)
	}
	if t.netns == "" {
		return exec.CommandContext(ctx, name, args...), nil
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("ip (for ip netns exec) is not installed (%w)", ErrToolMissing)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", t.netns, name}, args...)...), nil
}

// run runs name args with stdin and returns its standard output. A
// failure carries the first line of the tool's standard error, stripped
// of the tool's name and version.
func (t target) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd, err := t.command(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if msg := toolMessage(stderr.String()); msg != "" {
			return nil, &toolError{msg: msg, err: err}
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// toolError is a tool's own complaint, with its exit status as cause.
type toolError struct {
	msg string
	err error
}

func (e *toolError) Error() string { return e.msg }
func (e *toolError) Unwrap() error { return e.err }

// The patterns of a tool's complaint, compiled at the first complaint, not
// at every start.
var (
	toolPrefix = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9-]+( v[0-9][0-9.]*)?( \([a-z_]+\))?: `)
	})
	lineError = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Error in line ([0-9]+): `) })
)

// toolMessage picks the telling line of a tool's standard error:
// "ipset v7.17: Error in line 3: Hash is full" → "line 3: Hash is full".
func toolMessage(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "Try `") {
			continue
		}
		l = toolPrefix().ReplaceAllString(l, "")
		l = lineError().ReplaceAllString(l, "line $1: ")
		return l
	}
	return ""
}

// ownAddrs lists the addresses of the target's interfaces.
func (t target) ownAddrs() ([]ownAddr, error) {
	var out []ownAddr
	err := t.do(func() error {
		ifaces, err := net.Interfaces()
		if err != nil {
			return err
		}
		for _, ifc := range ifaces {
			addrs, err := ifc.Addrs()
			if err != nil {
				return fmt.Errorf("addresses of %s: %w", ifc.Name, err)
			}
			for _, a := range addrs {
				ipn, ok := a.(*net.IPNet)
				if !ok {
					continue
				}
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					out = append(out, ownAddr{ip.Unmap(), ifc.Name})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list own addresses: %w", err)
	}
	return out, nil
}
