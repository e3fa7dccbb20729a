package analyze

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"time"
)

// TestReadAhead: the bytes come through whole and in order whatever the
// read sizes, then the source's error; Close mid-stream ends the goroutine.
func TestReadAhead(t *testing.T) {
	src := make([]byte, 3*readAheadChunk+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	r := newReadAhead(iotest.HalfReader(bytes.NewReader(src)))
	var got []byte
	for {
		p := make([]byte, 1+rng.IntN(100000))
		n, err := r.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	if !bytes.Equal(got, src) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(src))
	}

	boom := errors.New("boom")
	r = newReadAhead(io.MultiReader(bytes.NewReader(src[:1000]), iotest.ErrReader(boom)))
	b, err := io.ReadAll(r)
	if len(b) != 1000 || !errors.Is(err, boom) {
		t.Errorf("got %d bytes and %v, want 1000 and boom", len(b), err)
	}
	r.Close()

	before := runtime.NumGoroutine()
	for range 20 {
		r = newReadAhead(bytes.NewReader(src))
		r.Read(make([]byte, 10))
		r.Close()
	}
	// A closed read-ahead's goroutine ends soon, not at once: wait up to
	// five seconds for it on a loaded machine.
	n := runtime.NumGoroutine()
	for end := time.Now().Add(5 * time.Second); n > before && time.Now().Before(end); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > before {
		t.Errorf("%d goroutines five seconds after closing 20 read-aheads, %d before", n, before)
	}
}
