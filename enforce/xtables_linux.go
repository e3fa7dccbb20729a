//go:build linux

package enforce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// comment marks every rule logjail writes with iptables, so that a rule in
// INPUT is known to be logjail's: -m comment --comment logjail.
const comment = "logjail"

// prefix starts every chain and set name logjail makes.
const prefix = "logjail-"

// xtables is the iptables/ip6tables machinery the iptables and ipset
// backends share: reading the filter table with iptables-save, changing
// chains and INPUT rules with go-iptables (one idempotent command each),
// and the commands' names per family.
type xtables struct {
	kind string
	t    target
	ipt  map[family]*iptables.IPTables
}

func newXtables(kind string, t target) *xtables {
	return &xtables{kind: kind, t: t, ipt: map[family]*iptables.IPTables{}}
}

func (f family) xtCommand() string {
	if f == v4 {
		return "iptables"
	}
	return "ip6tables"
}

// handle returns the go-iptables handle for a family. Its methods must run
// inside x.t.do, which puts them in the target namespace.
func (x *xtables) handle(fam family) (*iptables.IPTables, error) {
	if h := x.ipt[fam]; h != nil {
		return h, nil
	}
	proto := iptables.ProtocolIPv4
	if fam == v6 {
		proto = iptables.ProtocolIPv6
	}
	h, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(10))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "executable file not found") {
			err = fmt.Errorf("%s is not installed (%w)", fam.xtCommand(), ErrToolMissing)
		}
		return nil, backendError(x.kind, fam.xtCommand(), err)
	}
	x.ipt[fam] = h
	return h, nil
}

// xtRule is one rule of iptables-save output: "-A CHAIN args...".
type xtRule struct {
	chain string
	args  []string
}

// filterTable is the filter table as iptables-save shows it.
type filterTable struct {
	chains []string // in order of declaration
	rules  []xtRule
	// counts holds the number of rules per chain.
	counts map[string]int
}

func (ft *filterTable) hasChain(name string) bool { return slices.Contains(ft.chains, name) }

// readFilter reads the filter table of one family.
func (x *xtables) readFilter(ctx context.Context, fam family) (*filterTable, error) {
	out, err := x.t.run(ctx, nil, fam.xtCommand()+"-save", "-t", "filter")
	if err != nil {
		return nil, backendError(x.kind, fam.xtCommand()+"-save", err)
	}
	ft, err := parseFilter(string(out))
	if err != nil {
		return nil, backendError(x.kind, fam.xtCommand()+"-save", err)
	}
	return ft, nil
}

// countFilter reads the filter table of one family, counting the rules
// of every chain but parsing only those of INPUT.
func (x *xtables) countFilter(ctx context.Context, fam family) (*filterTable, error) {
	out, err := x.t.run(ctx, nil, fam.xtCommand()+"-save", "-t", "filter")
	if err != nil {
		return nil, backendError(x.kind, fam.xtCommand()+"-save", err)
	}
	ft, err := scanFilter(string(out), func(chain string) bool { return chain == "INPUT" })
	if err != nil {
		return nil, backendError(x.kind, fam.xtCommand()+"-save", err)
	}
	return ft, nil
}

// parseFilter parses the *filter section of iptables-save output.
func parseFilter(s string) (*filterTable, error) {
	return scanFilter(s, func(string) bool { return true })
}

// scanFilter parses the *filter section of iptables-save output; the
// rules of chains parse does not select are only counted.
func scanFilter(s string, parse func(chain string) bool) (*filterTable, error) {
	ft := &filterTable{counts: map[string]int{}}
	in := false
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '*':
			in = line == "*filter"
		case !in:
		case line == "COMMIT":
			in = false
		case line[0] == ':':
			name, _, _ := strings.Cut(line[1:], " ")
			ft.chains = append(ft.chains, name)
		case strings.HasPrefix(line, "-A "):
			if chain, _, _ := strings.Cut(line[3:], " "); !parse(chain) {
				ft.counts[chain]++
				continue
			}
			args, err := splitArgs(line[3:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			if len(args) == 0 {
				return nil, fmt.Errorf("line %d: rule without chain", n+1)
			}
			ft.rules = append(ft.rules, xtRule{chain: args[0], args: args[1:]})
			ft.counts[args[0]]++
		}
	}
	return ft, nil
}

// splitArgs splits a rule as iptables-save prints it into arguments,
// undoing its double quotes and backslash escapes.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inArg = true
		case c == '"':
			quoted = !quoted
			inArg = true
		case (c == ' ' || c == '\t') && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// quoteArgs joins arguments into a line iptables-restore reads back.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"\\'") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// hasComment reports whether a rule carries logjail's comment.
func hasComment(args []string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--comment" && args[i+1] == comment {
			return true
		}
	}
	return false
}

// argAfter returns the argument following flag, or "".
func argAfter(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// matchSpec is the protocol and port match of a jail's rule in INPUT, for
// one group of at most 15 ports.
func matchSpec(j jail, ports []portRange) []string {
	var s []string
	if j.proto != "all" {
		s = append(s, "-p", j.proto)
	}
	if len(ports) > 0 {
		s = append(s, "-m", "multiport", "--dports", portList(ports))
	}
	return s
}

// verdictSpec is the target of a blocking rule, as iptables-save prints it.
func verdictSpec(blockType, proto string, fam family) []string {
	if blockType != "REJECT" {
		return []string{"-j", "DROP"}
	}
	with := "icmp-port-unreachable"
	switch {
	case proto == "tcp":
		with = "tcp-reset"
	case fam == v6:
		with = "icmp6-port-unreachable"
	}
	return []string{"-j", "REJECT", "--reject-with", with}
}

// reconcileInput makes logjail's rules in INPUT of one family exactly
// want: rules selected by mine that are not wanted (or repeated) are
// deleted, missing ones inserted at the top, all with go-iptables. It
// returns the changes, one line each; dry only lists them.
func (x *xtables) reconcileInput(ctx context.Context, fam family, ft *filterTable, mine func([]string) bool, want [][]string, dry bool) ([]string, error) {
	var del, ins [][]string
	seen := make([]bool, len(want))
	for _, r := range ft.rules {
		if r.chain != "INPUT" || !mine(r.args) {
			continue
		}
		i := slices.IndexFunc(want, func(w []string) bool { return slices.Equal(w, r.args) })
		if i >= 0 && !seen[i] {
			seen[i] = true
			continue
		}
		del = append(del, r.args)
	}
	for i, w := range want {
		if !seen[i] {
			ins = append(ins, w)
		}
	}
	if len(del) == 0 && len(ins) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	line := func(verb string, args []string) string {
		return fmt.Sprintf("%s %s rule -A INPUT %s", verb, fam.xtCommand(), quoteArgs(args))
	}
	var setup []string
	if dry {
		for _, d := range del {
			setup = append(setup, line("delete", d))
		}
		for _, w := range ins {
			setup = append(setup, line("insert", w))
		}
		return setup, nil
	}
	h, err := x.handle(fam)
	if err != nil {
		return nil, err
	}
	err = x.t.do(func() error {
		for _, d := range del {
			if err := h.DeleteIfExists("filter", "INPUT", d...); err != nil {
				return fmt.Errorf("delete INPUT rule %s: %w", quoteArgs(d), xtError(err))
			}
			setup = append(setup, line("delete", d))
		}
		for _, w := range ins {
			if err := h.InsertUnique("filter", "INPUT", 1, w...); err != nil {
				return fmt.Errorf("insert INPUT rule %s: %w", quoteArgs(w), xtError(err))
			}
			setup = append(setup, line("insert", w))
		}
		return nil
	})
	if err != nil {
		return setup, backendError(x.kind, fam.xtCommand(), err)
	}
	return setup, nil
}

// xtError turns go-iptables' error, which quotes the whole command line,
// into the tool's own complaint.
func xtError(err error) error {
	var ie *iptables.Error
	if !errors.As(err, &ie) {
		return err
	}
	s := ie.Error()
	if i := strings.Index(s, ": exit status "); i >= 0 {
		if _, msg, ok := strings.Cut(s[i+len(": exit status "):], ": "); ok {
			if m := toolMessage(msg); m != "" {
				return &toolError{msg: m, err: err}
			}
		}
	}
	return err
}

// ipv6Enabled reports whether the kernel has IPv6; without it ip6tables
// cannot work and IPv6 bans are refused.
func ipv6Enabled() bool {
	_, err := os.Stat("/proc/sys/net/ipv6")
	return err == nil
}
