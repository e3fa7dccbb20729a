//go:build linux

package enforce

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
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

// elemReader dumps sets' elements over a netlink socket of its own.
//
// The netlink library would do it too, but decodes every element into
// freshly allocated attributes and slices, which at 100,000 bans costs
// more than the kernel's own work. This reader receives each dump piece
// into one buffer and takes out only the key, the interval flag and the
// time left, without allocating per element. It also reads with a buffer
// of at least 32 KiB, the largest piece the kernel produces, and so keeps
// the pieces few: the kernel sizes them after the largest receive buffer
// seen on the socket, and every piece walks the set from its first
// element again.
type elemReader struct {
	c   *netlink.Conn
	raw syscall.RawConn
	buf []byte
}

// dialElemReader opens the reader's socket in the network namespace open
// as nsfd (-1: the process's own).
func dialElemReader(nsfd int) (*elemReader, error) {
	cfg := &netlink.Config{}
	if nsfd >= 0 {
		cfg.NetNS = nsfd
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("open netlink for set elements: %w", err)
	}
	raw, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open netlink for set elements: %w", err)
	}
	return &elemReader{c: c, raw: raw, buf: make([]byte, 64<<10)}, nil
}

func (r *elemReader) close() error { return r.c.Close() }

// errDumpChanged reports a dump that the kernel marked inconsistent
// because the ruleset changed while it ran.
var errDumpChanged = errors.New("the set changed while it was read")

// elements lists the elements of set in table inet table. A dump the
// kernel marks as interrupted by a change is read again, a few times.
func (r *elemReader) elements(table, set string) ([]nftElem, error) {
	var err error
	for range 5 {
		var els []nftElem
		if els, err = r.dump(table, set); !errors.Is(err, errDumpChanged) {
			return els, err
		}
	}
	return nil, err
}

func (r *elemReader) dump(table, set string) ([]nftElem, error) {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: append([]byte(table), 0)},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: append([]byte(set), 0)},
	})
	if err != nil {
		return nil, err
	}
	req, err := r.c.Send(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETSETELEM),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, attrs...),
	})
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	var (
		els         []nftElem
		interrupted bool
	)
	for {
		n, err := r.receive()
		if err != nil {
			return nil, err
		}
		for b := r.buf[:n]; len(b) > 0; {
			if len(b) < unix.SizeofNlMsghdr {
				return nil, fmt.Errorf("truncated netlink message")
			}
			size := int(binary.NativeEndian.Uint32(b[0:4]))
			typ := binary.NativeEndian.Uint16(b[4:6])
			flags := binary.NativeEndian.Uint16(b[6:8])
			seq := binary.NativeEndian.Uint32(b[8:12])
			if size < unix.SizeofNlMsghdr || size > len(b) {
				return nil, fmt.Errorf("truncated netlink message")
			}
			msg := b[unix.SizeofNlMsghdr:size]
			b = b[min(nlAlign(size), len(b)):]
			if seq != req.Header.Sequence {
				return nil, fmt.Errorf("netlink answer to request %d, want %d", seq, req.Header.Sequence)
			}
			interrupted = interrupted || flags&unix.NLM_F_DUMP_INTR != 0
			switch typ {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				// Both end the dump, carrying an error or none.
				if len(msg) >= 4 {
					if errno := int32(binary.NativeEndian.Uint32(msg)); errno < 0 {
						return nil, unix.Errno(-errno)
					}
				}
				if interrupted {
					return nil, errDumpChanged
				}
				return els, nil
			default:
				if len(msg) < 4 {
					return nil, fmt.Errorf("truncated netlink message")
				}
				els = appendElems(els, msg[4:]) // after struct nfgenmsg
			}
		}
	}
}

// receive reads one dump piece into r.buf.
func (r *elemReader) receive() (int, error) {
	var (
		n, flags int
		serr     error
	)
	err := r.raw.Read(func(fd uintptr) bool {
		n, _, flags, _, serr = unix.Recvmsg(int(fd), r.buf, nil, 0)
		return serr != unix.EAGAIN && serr != unix.EINTR
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if flags&unix.MSG_TRUNC != 0 {
		return 0, fmt.Errorf("receive: netlink message larger than %d bytes", len(r.buf))
	}
	return n, nil
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

// nextAttr splits the first netlink attribute off b: its type (without
// the nested and byte-order flags), its payload and what follows. The
// type is 0, which no attribute read here has, when b holds no further
// whole attribute.
func nextAttr(b []byte) (typ uint16, val, rest []byte) {
	if len(b) < unix.SizeofNlAttr {
		return 0, nil, nil
	}
	size := int(binary.NativeEndian.Uint16(b[0:2]))
	if size < unix.SizeofNlAttr || size > len(b) {
		return 0, nil, nil
	}
	typ = binary.NativeEndian.Uint16(b[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	return typ, b[unix.SizeofNlAttr:size], b[min(nlAlign(size), len(b)):]
}

// nlAlign rounds a netlink length up to the 4-byte alignment.
func nlAlign(n int) int { return (n + 3) &^ 3 }
