package analyze

import (
	"encoding/json"
	"fmt"
	"time"
)

// A fail2ban-style filter remembers across lines: the connections tied by
// <F-MLFID>, the last lines when maxlines > 1, and the last date (for
// lines without one). Snapshot and Restore keep that between runs, so a
// connection whose lines fall on both sides of a run is judged as in one.

type f2bSnapshot struct {
	Conns    []f2bConnJSON `json:"conns,omitempty"`
	Lines    []string      `json:"lines,omitempty"`
	LastTime time.Time     `json:"last_time,omitempty"`
}

type f2bConnJSON struct {
	ID     string            `json:"id"`
	Seen   time.Time         `json:"seen"`
	Groups map[string]string `json:"groups"`
	Users  []string          `json:"users,omitempty"`
}

// Snapshot implements Snapshotter.
func (m *f2bMatcher) Snapshot() []byte {
	if len(m.mlf) == 0 && len(m.buf) == 0 && !m.haveTime {
		return nil
	}
	s := f2bSnapshot{Lines: m.buf}
	if m.haveTime {
		s.LastTime = m.lastTime
	}
	for id, e := range m.mlf {
		if m.haveTime && m.lastTime.Sub(e.seen) > mlfCacheAge {
			continue // fail2ban forgets a connection after 5 minutes
		}
		c := f2bConnJSON{ID: id, Seen: e.seen, Groups: e.g}
		for u := range e.users {
			c.Users = append(c.Users, u)
		}
		s.Conns = append(s.Conns, c)
	}
	data, _ := json.Marshal(s)
	return data
}

// Restore implements Snapshotter: it loads what Snapshot saved.
func (m *f2bMatcher) Restore(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	var s f2bSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("fail2ban filter %s context: %w", m.f.name, err)
	}
	if len(s.Lines) > m.f.lines {
		s.Lines = s.Lines[len(s.Lines)-m.f.lines:]
	}
	if m.f.lines > 1 {
		m.buf = s.Lines
	}
	if !s.LastTime.IsZero() {
		m.lastTime, m.haveTime = s.LastTime, true
	}
	for i, c := range s.Conns {
		if i >= mlfCacheMax {
			break
		}
		if c.Groups == nil {
			c.Groups = map[string]string{}
		}
		users := map[string]bool{}
		for _, u := range c.Users {
			users[u] = true
		}
		m.mlf[c.ID] = &mlfEntry{seen: c.Seen, g: c.Groups, users: users}
	}
	return nil
}
