package analyze

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// sshProcJSON is one process context in a snapshot.
type sshProcJSON struct {
	Key     uint64     `json:"k"`
	Addr    netip.Addr `json:"a,omitzero"`
	Port    sshPort    `json:"pt,omitempty"` // client port + 1
	Name    string     `json:"n,omitempty"`
	Users   []string   `json:"u,omitempty"`
	User    string     `json:"cu,omitempty"`
	Pending int        `json:"p,omitempty"`
	Rule    string     `json:"r,omitempty"`
	Seen    int64      `json:"s"`
}

// Snapshot saves the process contexts, so that the next run goes on
// where this one stopped.
func (m *sshdMatcher) Snapshot() []byte {
	if m.procs.Len() == 0 {
		return nil
	}
	out := make([]sshProcJSON, 0, m.procs.Len())
	for k, p := range m.procs.All() {
		out = append(out, sshProcJSON{Key: k, Addr: p.addr, Port: p.port, Name: p.name, Users: append([]string(nil), p.users[:p.nusers]...),
			User: p.user, Pending: p.pending, Rule: p.pendingRule, Seen: p.seen})
	}
	data, _ := json.Marshal(out)
	return data
}

// Restore loads what Snapshot saved.
func (m *sshdMatcher) Restore(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	var in []sshProcJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("sshd context: %w", err)
	}
	if len(in) > sshProcMax {
		in = in[:sshProcMax]
	}
	for _, q := range in {
		p := &sshProc{addr: q.Addr, port: q.Port, name: q.Name, user: q.User, pending: q.Pending, pendingRule: q.Rule, seen: q.Seen}
		for _, u := range q.Users {
			p.addUser(u)
		}
		m.procs.Set(q.Key, p)
	}
	return nil
}
