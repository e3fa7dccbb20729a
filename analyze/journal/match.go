package journal

import (
	"fmt"
	"strings"
)

// Match is a journalctl match: terms FIELD=VALUE; terms of one field are
// alternatives, terms of different fields must all hold, and "+" separates
// alternatives of such groups.
type Match struct {
	groups [][]fieldValues
	terms  []string
}

// fieldValues are the values a field may have in one group.
type fieldValues struct {
	field  string
	values []string
}

// ParseMatch checks terms as journalctl would take them.
func ParseMatch(terms []string) (*Match, error) {
	m := &Match{terms: terms, groups: [][]fieldValues{nil}}
	for _, t := range terms {
		if t == "+" {
			if len(m.groups[len(m.groups)-1]) == 0 {
				return nil, fmt.Errorf("journal match %q: \"+\" must stand between two terms", strings.Join(terms, " "))
			}
			m.groups = append(m.groups, nil)
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || !validName([]byte(k)) {
			return nil, fmt.Errorf("journal match term %q: want FIELD=VALUE with FIELD in A-Z, 0-9 and _ (or +)", t)
		}
		g := &m.groups[len(m.groups)-1]
		found := false
		for i := range *g {
			if (*g)[i].field == k {
				(*g)[i].values = append((*g)[i].values, v)
				found = true
			}
		}
		if !found {
			*g = append(*g, fieldValues{k, []string{v}})
		}
	}
	if len(terms) > 0 && len(m.groups[len(m.groups)-1]) == 0 {
		return nil, fmt.Errorf("journal match %q: \"+\" must stand between two terms", strings.Join(terms, " "))
	}
	return m, nil
}

// Terms returns the terms as given.
func (m *Match) Terms() []string { return m.terms }

// Fields returns the names of the fields the match tests.
func (m *Match) Fields() []string {
	var out []string
	for _, g := range m.groups {
		for _, fv := range g {
			out = append(out, fv.field)
		}
	}
	return out
}

// Empty reports a match without terms: every entry.
func (m *Match) Empty() bool { return len(m.terms) == 0 }

// Matches reports whether e satisfies the match. The entry must come from
// a Parser that keeps m.Fields().
func (m *Match) Matches(e *Entry) bool {
	if m.Empty() {
		return true
	}
	for _, g := range m.groups {
		all := true
		for _, fv := range g {
			v, ok := e.Field(fv.field)
			if !ok || !containsValue(fv.values, v) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func containsValue(vs []string, v []byte) bool {
	for _, x := range vs {
		if x == string(v) {
			return true
		}
	}
	return false
}
