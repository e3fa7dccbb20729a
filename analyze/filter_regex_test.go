package analyze

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRegexFilterErrors(t *testing.T) {
	tests := []struct {
		name         string
		fail, ignore []string
		want         string
	}{
		{"no failregex", nil, nil, "no failregex"},
		{"no host", []string{"login failed"}, nil, "must contain <HOST> exactly once, found 0"},
		{"two hosts", []string{"<HOST> and <HOST>"}, nil, "found 2"},
		{"two users", []string{"<USER> <USER> <HOST>"}, nil, "<USER> may appear once"},
		{"bad failregex", []string{"from <HOST> ("}, nil, "failregex 1"},
		{"bad ignoreregex", []string{"from <HOST>"}, []string{"[a-"}, "ignoreregex 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRegexFilter("myapp", tt.fail, tt.ignore)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "myapp") {
				t.Fatalf("got %v, want an error naming myapp and containing %q", err, tt.want)
			}
		})
	}
}

func TestRegexFilterMatch(t *testing.T) {
	f, err := NewRegexFilter("myapp", []string{
		`^login failed for <USER> from <HOST>$`,
		`^"GET /admin HTTP/1\.[01]" 401 .* client <HOST>$`,
		`<HOST> - \S+ \[[^\]]+\] "POST /wp-login\.php`,
	}, []string{`for guest `})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line, host, user, rule string
		out                    Outcome
		repeat                 int
	}{
		{"Nov 24 10:00:00 web myapp[12]: login failed for alice from 192.0.2.1", "192.0.2.1", "alice", "failregex 1", Matched, 1},
		{"Nov 24 10:00:00 web myapp[12]: message repeated 3 times: [ login failed for bob from 192.0.2.2]", "192.0.2.2", "bob", "failregex 1", Matched, 3},
		{"2026-11-24T10:00:00+01:00 login failed for carol from [2001:db8::3]:5555", "2001:db8::3", "carol", "failregex 1", Matched, 1},
		{"Nov 24 10:00:00 web myapp[12]: login failed for guest from 192.0.2.4", "", "", "", Ignored, 0},
		{"Nov 24 10:00:00 web myapp[12]: x login failed for dave from 192.0.2.5", "", "", "", Missed, 0},
		{"Nov 24 10:00:00 web myapp[12]: login failed for erin from 999.1.1.1", "", "", "", Missed, 0},
		{`192.0.2.6 - - [24/Nov/2026:10:00:00 +0000] "POST /wp-login.php HTTP/1.1" 200 12`, "192.0.2.6", "", "failregex 3", Matched, 1},
		{"login failed for frank from 192.0.2.7", "", "", "", Missed, 0}, // no time: cannot be placed
		{"Nov 24 10:00:00 web myapp[12]: login failed for gina from mail.example.org", "mail.example.org", "gina", "failregex 1", Matched, 1},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			m := f.New("")
			got, out := m.Match(nil, 7, []byte(tt.line), NewTimeParser(testRef, time.UTC))
			if out != tt.out || len(got) != tt.repeat {
				t.Fatalf("outcome %d with %d failures, want %d with %d", out, len(got), tt.out, tt.repeat)
			}
			for _, g := range got {
				if g.HostString() != tt.host || g.User != tt.user || g.Rule != tt.rule || g.Line != 7 || g.Time.IsZero() {
					t.Fatalf("got %+v, want host %s user %q rule %s", g, tt.host, tt.user, tt.rule)
				}
			}
		})
	}
}

// TestRegexFilterChecked: a custom filter is checked when made (parsed)
// and compiled at its first Matcher: the errors are those compiling gives,
// against the user's text when it is at fault.
func TestRegexFilterChecked(t *testing.T) {
	for _, c := range []struct{ fail, ignore, want string }{
		{`^failed (from <HOST>`, ``, "missing closing )"},
		{`^failed from <HOST> x{2,1001}`, ``, "invalid repeat count"},
		{`^failed from <HOST>`, `a[b`, "missing closing ]"},
	} {
		var ignore []string
		if c.ignore != "" {
			ignore = []string{c.ignore}
		}
		_, err := NewRegexFilter("t", []string{c.fail}, ignore)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q, %q: %v; want %q", c.fail, c.ignore, err, c.want)
		}
		src := c.fail
		if c.ignore != "" {
			src = c.ignore
		}
		if _, cerr := regexp.Compile(src); cerr == nil || !strings.Contains(err.Error(), cerr.Error()) {
			t.Errorf("%q: %v, compiling it says %v", src, err, cerr)
		}
	}
}
