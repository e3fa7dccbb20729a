//go:build linux

package enforce

func newKernelBackend(kind string, opts Options, t target) (Backend, error) {
	switch kind {
	case "iptables":
		return &iptablesBackend{opts: opts, t: t, x: newXtables(kind, t)}, nil
	case "ipset":
		return &ipsetBackend{opts: opts, t: t, x: newXtables(kind, t)}, nil
	default:
		return &nftBackend{opts: opts, t: t}, nil
	}
}
