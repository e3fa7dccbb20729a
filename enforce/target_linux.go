//go:build linux

package enforce

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// do runs fn on an OS thread that has entered the target namespace, so
// that the sockets fn opens and the processes it starts live there. With
// no namespace fn runs as it is.
func (t target) do(fn func() error) error {
	if t.netns == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is not unlocked when it could not be brought back to
		// its own namespace: the runtime then ends it with the goroutine
		// instead of handing a thread in the wrong namespace to others.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromName(t.netns)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open network namespace %s: %w", t.netns, err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace %s: %w", t.netns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("leave network namespace %s: %w", t.netns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// nsHandle opens the target namespace for netlink sockets; it returns -1
// for the process's own namespace. close releases it.
func (t target) nsHandle() (fd int, close func(), err error) {
	if t.netns == "" {
		return -1, func() {}, nil
	}
	h, err := netns.GetFromName(t.netns)
	if err != nil {
		return -1, nil, fmt.Errorf("open network namespace %s: %w", t.netns, err)
	}
	return int(h), func() { h.Close() }, nil
}
