package testenv

import (
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records how a test would have ended.
type recorder struct {
	testing.TB
	ended string // "skip", "fatal" or ""
	msg   string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(f string, a ...any) {
	r.ended, r.msg = "skip", fmt.Sprintf(f, a...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.ended, r.msg = "fatal", fmt.Sprintf(f, a...)
	runtime.Goexit()
}

// run calls f with a recorder in a goroutine of its own, as the testing
// package runs a test, so that Goexit ends only f.
func run(f func(testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestMissing(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		want := map[string]string{"": "skip", "true": "fatal"}[ci]
		r := run(func(tb testing.TB) { Tool(tb, "logjail-no-such-program") })
		if r.ended != want {
			t.Errorf("CI=%q, missing program: ended %q, want %q (%s)", ci, r.ended, want, r.msg)
		}
		r = run(func(tb testing.TB) { Tool(tb, "sh") })
		if r.ended != "" {
			t.Errorf("CI=%q, sh present: ended %q (%s)", ci, r.ended, r.msg)
		}
	}
}
