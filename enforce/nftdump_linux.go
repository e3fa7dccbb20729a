//go:build linux

package enforce

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftElem is one element of a set as the kernel dumps it. It holds no
// pointer, so that the hundreds of thousands of a big table cost the
// garbage collector nothing.
type nftElem struct {
	key [16]byte // an IPv4 address in key[:4]
	v4  bool
	// end marks the element that closes an interval (interval sets).
	end bool
	// expires is the time left before the kernel removes the element;
	// zero when it has no timeout.
	expires time.Duration
}

// addr is the element's key as an address; invalid when the key was
// neither 4 nor 16 bytes long.
func (e nftElem) addr() netip.Addr {
	if e.v4 {
		return netip.AddrFrom4([4]byte(e.key[:4]))
	}
	return netip.AddrFrom16(e.key)
}

// elements lists the elements of set in table inet table, in ascending
// order. A dump the kernel marks as interrupted by a change is read
// again, a few times; so is one that shows an element twice.
//
// The kernel hands a set out in pieces, each walking the set afresh and
// skipping what the pieces before it gave. A hash set's walk follows its
// buckets, and the kernel resizes the table in the background, after
// many elements came or went (by a transaction, or by the expiry of
// timeouts), without marking the dump: a resize between two pieces
// reorders the walk, and the dump shows some elements twice and leaves
// others out. A reading that saw an element twice would take the second
// for a stray and delete the ban; one that left a ban out adds it again.
func (r *dumpReader) elements(table, set string) ([]nftElem, error) {
	var err error
	for range 5 {
		var els []nftElem
		if els, err = r.setElems(table, set); err == nil {
			if sortElems(els) {
				return els, nil
			}
			err = errDumpChanged
		}
		if !errors.Is(err, errDumpChanged) {
			return nil, err
		}
	}
	return nil, err
}

// sortElems puts els in ascending order (see cmpElem) and tells whether
// every element is there once. The kernel dumps an interval set in
// descending order.
func sortElems(els []nftElem) bool {
	if !slices.IsSortedFunc(els, cmpElem) {
		slices.Reverse(els)
		if !slices.IsSortedFunc(els, cmpElem) {
			slices.SortFunc(els, cmpElem)
		}
	}
	for i := 1; i < len(els); i++ {
		if cmpElem(els[i-1], els[i]) == 0 {
			return false
		}
	}
	return true
}

func (r *dumpReader) setElems(table, set string) ([]nftElem, error) {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: append([]byte(table), 0)},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: append([]byte(set), 0)},
	})
	if err != nil {
		return nil, err
	}
	var els []nftElem
	err = r.dump(netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETSETELEM),
		append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, attrs...),
		func(_ uint16, msg []byte) error {
			if len(msg) < 4 {
				return errTruncated
			}
			els = appendElems(els, msg[4:]) // after struct nfgenmsg
			return nil
		})
	if err != nil {
		return nil, err
	}
	return els, nil
}

// appendElems appends the elements of one NFT_MSG_NEWSETELEM message's
// attributes. Elements whose key is no address are left out.
func appendElems(els []nftElem, attrs []byte) []nftElem {
	for typ, list, rest := nextAttr(attrs); typ != 0; typ, list, rest = nextAttr(rest) {
		if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			continue
		}
		for typ, elem, more := nextAttr(list); typ != 0; typ, elem, more = nextAttr(more) {
			if typ != unix.NFTA_LIST_ELEM {
				continue
			}
			var e nftElem
			keyLen := 0
			for typ, v, fields := nextAttr(elem); typ != 0; typ, v, fields = nextAttr(fields) {
				switch typ {
				case unix.NFTA_SET_ELEM_KEY:
					if typ, key, _ := nextAttr(v); typ == unix.NFTA_DATA_VALUE && (len(key) == 4 || len(key) == 16) {
						keyLen = copy(e.key[:], key)
						e.v4 = keyLen == 4
					}
				case unix.NFTA_SET_ELEM_FLAGS:
					if len(v) == 4 {
						e.end = binary.BigEndian.Uint32(v)&unix.NFT_SET_ELEM_INTERVAL_END != 0
					}
				case unix.NFTA_SET_ELEM_EXPIRATION:
					if len(v) == 8 {
						e.expires = time.Duration(binary.BigEndian.Uint64(v)) * time.Millisecond
					}
				}
			}
			if keyLen != 0 {
				els = append(els, e)
			}
		}
	}
	return els
}
