//go:build !linux

package enforce

import (
	"errors"
	"fmt"
)

func (t target) do(fn func() error) error {
	if t.netns != "" {
		return fmt.Errorf("network namespace %s: %w", t.netns, errors.ErrUnsupported)
	}
	return fn()
}

func newKernelBackend(kind string, _ Options, _ target) (Backend, error) {
	return nil, fmt.Errorf("%s: firewall backends need Linux: %w", kind, errors.ErrUnsupported)
}
