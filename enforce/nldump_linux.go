//go:build linux

package enforce

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dumpReader runs netfilter netlink dumps over a socket of its own and
// hands each answer's payload to a parser, without copying or decoding
// it. The nftables backend reads set elements with it, the ipset backend
// its sets and their members.
//
// The netlink library would do it too, but decodes every member into
// freshly allocated attributes and slices, which at 100,000 bans costs
// more than the kernel's own work. This reader receives each dump piece
// into one buffer, and the parsers take out only what they need without
// allocating per member. It reads with a buffer of at least 32 KiB, the
// largest piece the kernel produces, and so keeps the pieces few: the
// kernel sizes them after the largest receive buffer seen on the socket,
// and nftables walks a set from its first element again for every piece.
type dumpReader struct {
	c   *netlink.Conn
	raw syscall.RawConn
	buf []byte
}

// dialDumpReader opens the reader's socket in the network namespace open
// as nsfd (-1: the process's own).
func dialDumpReader(nsfd int) (*dumpReader, error) {
	cfg := &netlink.Config{}
	if nsfd >= 0 {
		cfg.NetNS = nsfd
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	raw, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	return &dumpReader{c: c, raw: raw, buf: make([]byte, 64<<10)}, nil
}

func (r *dumpReader) close() error { return r.c.Close() }

// errDumpChanged reports a dump that the kernel marked inconsistent
// because the ruleset changed while it ran.
var errDumpChanged = errors.New("the set changed while it was read")

// errTruncated reports a netlink message or attribute cut short.
var errTruncated = errors.New("truncated netlink message")

// dump sends a dump request of message type typ with payload data (the
// struct nfgenmsg and the attributes) and calls each with the type and
// payload of every answer until the kernel ends the dump. An error the
// kernel ends it with is returned as a unix.Errno. The payload passed to
// each is only valid during the call. After any other error the socket
// may still hold the rest of the dump: close the reader, do not reuse it.
func (r *dumpReader) dump(typ netlink.HeaderType, data []byte, each func(typ uint16, msg []byte) error) error {
	req, err := r.c.Send(netlink.Message{
		Header: netlink.Header{Type: typ, Flags: netlink.Request | netlink.Dump},
		Data:   data,
	})
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	interrupted := false
	for {
		n, err := r.receive()
		if err != nil {
			return err
		}
		for b := r.buf[:n]; len(b) > 0; {
			typ, flags, seq, msg, rest, err := nlNext(b)
			if err != nil {
				return err
			}
			b = rest
			if seq != req.Header.Sequence {
				return fmt.Errorf("netlink answer to request %d, want %d", seq, req.Header.Sequence)
			}
			interrupted = interrupted || flags&unix.NLM_F_DUMP_INTR != 0
			switch typ {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				// Both end the dump, carrying an error or none.
				if len(msg) >= 4 {
					if errno := int32(binary.NativeEndian.Uint32(msg)); errno < 0 {
						return unix.Errno(-errno)
					}
				}
				if interrupted {
					return errDumpChanged
				}
				return nil
			default:
				if err := each(typ, msg); err != nil {
					return err
				}
			}
		}
	}
}

// nlNext splits the first netlink message off b: its header's type, flags
// and sequence number, its payload, and the rest of b.
func nlNext(b []byte) (typ, flags uint16, seq uint32, msg, rest []byte, err error) {
	if len(b) < unix.SizeofNlMsghdr {
		return 0, 0, 0, nil, nil, errTruncated
	}
	size := int(binary.NativeEndian.Uint32(b[0:4]))
	if size < unix.SizeofNlMsghdr || size > len(b) {
		return 0, 0, 0, nil, nil, errTruncated
	}
	typ = binary.NativeEndian.Uint16(b[4:6])
	flags = binary.NativeEndian.Uint16(b[6:8])
	seq = binary.NativeEndian.Uint32(b[8:12])
	return typ, flags, seq, b[unix.SizeofNlMsghdr:size], b[min(nlAlign(size), len(b)):], nil
}

// receive reads one dump piece into r.buf.
func (r *dumpReader) receive() (int, error) {
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
