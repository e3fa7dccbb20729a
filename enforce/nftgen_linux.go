//go:build linux

package enforce

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftGen is nftables' ruleset generation in one network namespace of
// one boot: the kernel moves id by one with every transaction that
// changes anything in the namespace's ruleset, and starts it afresh in a
// new namespace and after a reboot, which boot and netns tell apart.
type nftGen struct {
	id    uint32
	boot  string
	netns uint64
}

// sameKernel reports whether g and o count in the same namespace of the
// same boot.
func (g nftGen) sameKernel(o nftGen) bool { return g.boot == o.boot && g.netns == o.netns }

// soNetnsCookie is SO_NETNS_COOKIE (Linux 5.14): a number the kernel
// gives each network namespace, never reused within a boot. The value
// of the generic socket options, which amd64, arm64 and most others use.
const soNetnsCookie = 71

// gen reads the ruleset generation of the reader's namespace
// (NFT_MSG_GETGEN), the namespace's cookie and the boot id.
func (r *dumpReader) gen() (nftGen, error) {
	var g nftGen
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return g, fmt.Errorf("boot id: %w", err)
	}
	g.boot = string(bytes.TrimSpace(boot))
	var serr error
	if err := r.raw.Control(func(fd uintptr) {
		g.netns, serr = unix.GetsockoptUint64(int(fd), unix.SOL_SOCKET, soNetnsCookie)
	}); err != nil {
		return g, err
	}
	if serr != nil {
		return g, fmt.Errorf("network namespace cookie: %w", serr)
	}
	msgs, err := r.c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	})
	if err != nil {
		return g, fmt.Errorf("ruleset generation: %w", err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		for typ, v, rest := nextAttr(m.Data[4:]); typ != 0; typ, v, rest = nextAttr(rest) {
			if typ == unix.NFTA_GEN_ID && len(v) == 4 {
				g.id = binary.BigEndian.Uint32(v)
				return g, nil
			}
		}
	}
	return g, errors.New("ruleset generation: no answer")
}
