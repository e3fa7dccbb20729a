//go:build linux

package enforce

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The ipset netlink protocol, from the kernel's
// include/uapi/linux/netfilter/ipset/ip_set.h.
const (
	// ipsetProtocol is the protocol version asked for first;
	// ipsetProtocolMin the one kernels older than ipset 7 speak.
	ipsetProtocol    = 7
	ipsetProtocolMin = 6

	ipsetCmdList = 7 // IPSET_CMD_LIST; the kernel answers LIST and SAVE alike

	// Attributes of a request or answer.
	ipsetAttrProtocol = 1 // u8
	ipsetAttrSetname  = 2 // string
	ipsetAttrTypename = 3 // string
	ipsetAttrFamily   = 5 // u8, NFPROTO_*
	ipsetAttrFlags    = 6 // be32, IPSET_FLAG_*
	ipsetAttrData     = 7 // nested: the set's header, or one member
	ipsetAttrADT      = 8 // nested: members, each an ipsetAttrData

	// Attributes of a set's header (in ipsetAttrData).
	ipsetAttrTimeout  = 6  // be32: present when the set has timeout support
	ipsetAttrMaxelem  = 19 // be32
	ipsetAttrElements = 24 // be32: how many members the set holds

	// Attributes of a member (in ipsetAttrData). Any other one (a
	// counter, a comment, a port) is an extension logjail does not write.
	ipsetAttrIP        = 1 // nested: ipsetAttrIPv4 or ipsetAttrIPv6
	ipsetAttrCIDR      = 3 // u8
	ipsetAttrCadtFlags = 8 // be32; IPSET_FLAG_NOMATCH and the like
	ipsetAttrIPv4      = 1 // be32
	ipsetAttrIPv6      = 2 // 16 bytes

	ipsetFlagListSetname = 1 << 1 // IPSET_FLAG_LIST_SETNAME: names only
	ipsetFlagListHeader  = 1 << 2 // IPSET_FLAG_LIST_HEADER: headers, no members

	// Error numbers of ipset's own (enum ipset_errno).
	ipsetErrPrivate  = 4096
	ipsetErrProtocol = 4097
)

// ipsetReader reads the kernel's ipset sets over netlink, where "ipset
// list -n" and "ipset save NAME" would print them as text for logjail to
// parse: the same information, at a fraction of the cost.
type ipsetReader struct {
	d     *dumpReader
	proto uint8
}

// openIpsetReader opens a reader in the target namespace.
func openIpsetReader(t target) (*ipsetReader, error) {
	fd, closeNS, err := t.nsHandle()
	if err != nil {
		return nil, err
	}
	defer closeNS() // the socket keeps the namespace
	d, err := dialDumpReader(fd)
	if err != nil {
		return nil, err
	}
	return &ipsetReader{d: d, proto: ipsetProtocol}, nil
}

func (r *ipsetReader) close() error { return r.d.close() }

// dump runs one LIST dump with the given attributes after the protocol
// version. A kernel that refuses protocol 7 is asked again with 6.
func (r *ipsetReader) dump(attrs []netlink.Attribute, each func(typ uint16, msg []byte) error) error {
	for {
		b, err := netlink.MarshalAttributes(append([]netlink.Attribute{{Type: ipsetAttrProtocol, Data: []byte{r.proto}}}, attrs...))
		if err != nil {
			return err
		}
		err = r.d.dump(netlink.HeaderType(unix.NFNL_SUBSYS_IPSET<<8|ipsetCmdList),
			append([]byte{unix.NFPROTO_IPV4, unix.NFNETLINK_V0, 0, 0}, b...), each)
		if errors.Is(err, unix.Errno(ipsetErrProtocol)) && r.proto > ipsetProtocolMin {
			r.proto = ipsetProtocolMin
			continue
		}
		return kernelError(err)
	}
}

// kernelError puts words to the error numbers the kernel answers ipset
// requests with; the number stays the cause.
func kernelError(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch {
	case errno == unix.ENOENT:
		return fmt.Errorf("no such set (%w)", err)
	case errno == ipsetErrProtocol:
		return fmt.Errorf("the kernel refused ipset protocol %d and %d (%w)", ipsetProtocol, ipsetProtocolMin, err)
	case errno > ipsetErrPrivate:
		return fmt.Errorf("ipset error %d from the kernel (%w)", int(errno), err)
	}
	return fmt.Errorf("kernel: %w", err)
}

// names lists the names of every set, as "ipset list -n" does.
func (r *ipsetReader) names() ([]string, error) {
	var names []string
	flags := binary.BigEndian.AppendUint32(nil, ipsetFlagListSetname)
	err := r.dump([]netlink.Attribute{{Type: ipsetAttrFlags | unix.NLA_F_NET_BYTEORDER, Data: flags}}, func(typ uint16, msg []byte) error {
		name, err := ipsetMsgSetname(typ, msg)
		if err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// headers reads the header of every set, without members, as "ipset
// list -t" does: its type, family, maxelem, timeout support and how many
// members it holds.
func (r *ipsetReader) headers() (map[string]*ipsetSet, error) {
	sets := map[string]*ipsetSet{}
	flags := binary.BigEndian.AppendUint32(nil, ipsetFlagListHeader)
	err := r.dump([]netlink.Attribute{{Type: ipsetAttrFlags | unix.NLA_F_NET_BYTEORDER, Data: flags}}, func(typ uint16, msg []byte) error {
		name, err := ipsetMsgSetname(typ, msg)
		if err != nil {
			return err
		}
		s := sets[name]
		if s == nil {
			s = &ipsetSet{name: name}
			sets[name] = s
		}
		return eachAttr(msg[4:], s.addHeaderAttr)
	})
	if err != nil {
		return nil, err
	}
	return sets, nil
}

// set reads one set with its members, as "ipset save NAME" shows it.
// now turns the members' remaining timeouts into ends.
func (r *ipsetReader) set(name string, now time.Time) (*ipsetSet, error) {
	s := &ipsetSet{name: name}
	jail, _, _, _ := parseSetName(name)
	err := r.dump([]netlink.Attribute{{Type: ipsetAttrSetname, Data: append([]byte(name), 0)}}, func(typ uint16, msg []byte) error {
		return s.addMsg(jail, typ, msg, now)
	})
	if err != nil {
		return nil, err
	}
	if s.typ == "" {
		return nil, errors.New("the kernel sent no header")
	}
	return s, nil
}

// ipsetMsgSetname checks that msg is an answer to a LIST request and
// returns the set it is about.
func ipsetMsgSetname(typ uint16, msg []byte) (string, error) {
	if typ != unix.NFNL_SUBSYS_IPSET<<8|ipsetCmdList {
		return "", fmt.Errorf("unexpected netlink message type %#x", typ)
	}
	if len(msg) < 4 {
		return "", errTruncated
	}
	for b := msg[4:]; len(b) > 0; { // after struct nfgenmsg
		t, v, rest, err := ipsetAttr(b)
		if err != nil {
			return "", err
		}
		if t == ipsetAttrSetname {
			return cString(v), nil
		}
		b = rest
	}
	return "", errors.New("netlink message without a set name")
}

// addMsg adds what one message of a LIST dump of s says: the header (in
// the first) and members. jail is the jail the set's name belongs to.
func (s *ipsetSet) addMsg(jail string, typ uint16, msg []byte, now time.Time) error {
	name, err := ipsetMsgSetname(typ, msg)
	if err != nil {
		return err
	}
	if name != s.name {
		return fmt.Errorf("the kernel answered with set %q", name)
	}
	return eachAttr(msg[4:], func(t uint16, v []byte) error {
		if t != ipsetAttrADT {
			return s.addHeaderAttr(t, v)
		}
		if s.typ == "" {
			return errors.New("members before the set's header")
		}
		return s.addMembers(jail, v, now)
	})
}

// addHeaderAttr reads one attribute of a message about s that describes
// the set itself: its type, family and creation options; others are
// passed over.
func (s *ipsetSet) addHeaderAttr(t uint16, v []byte) error {
	switch t {
	case ipsetAttrTypename:
		s.typ = cString(v)
	case ipsetAttrFamily:
		if len(v) < 1 {
			return errTruncated
		}
		s.family = nfprotoName(v[0])
	case ipsetAttrData:
		return s.addHeader(v)
	}
	return nil
}

// addMembers adds the members of an ADT attribute.
func (s *ipsetSet) addMembers(jail string, b []byte, now time.Time) error {
	return eachAttr(b, func(t uint16, m []byte) error {
		if t != ipsetAttrData {
			return fmt.Errorf("unexpected attribute %d among the members", t)
		}
		f, err := ipsetMember(jail, m, now)
		if err != nil {
			return fmt.Errorf("member %d: %w", len(s.members)+1, err)
		}
		s.members = append(s.members, f)
		return nil
	})
}

// addHeader reads the set's creation options that matter to logjail.
func (s *ipsetSet) addHeader(b []byte) error {
	return eachAttr(b, func(t uint16, v []byte) error {
		switch t {
		case ipsetAttrMaxelem:
			if len(v) != 4 {
				return fmt.Errorf("maxelem of %d bytes", len(v))
			}
			s.maxelem = int(binary.BigEndian.Uint32(v))
		case ipsetAttrTimeout:
			s.timeout = true
		case ipsetAttrElements:
			if len(v) != 4 {
				return fmt.Errorf("element count of %d bytes", len(v))
			}
			s.count, s.counted = int(binary.BigEndian.Uint32(v)), true
			// Room for the members, up to a bound: the count is a hint.
			if s.members == nil {
				s.members = make([]found[struct{}], 0, min(s.count, 1<<18))
			}
		}
		return nil
	})
}

// ipsetMember reads one member: its address or network and the time its
// kernel timeout has left. It is ok only when it holds nothing logjail
// does not write: no nomatch flag, counter, comment or further dimension
// (a port, an interface).
func ipsetMember(jail string, b []byte, now time.Time) (found[struct{}], error) {
	var (
		addr    netip.Addr
		bits    = -1
		left    time.Duration
		foreign bool
	)
	err := eachAttr(b, func(t uint16, v []byte) error {
		switch t {
		case ipsetAttrIP:
			at, a, _, err := ipsetAttr(v)
			if err != nil {
				return err
			}
			switch {
			case at == ipsetAttrIPv4 && len(a) == 4:
				addr = netip.AddrFrom4([4]byte(a))
			case at == ipsetAttrIPv6 && len(a) == 16:
				addr = netip.AddrFrom16([16]byte(a))
			default:
				return fmt.Errorf("address attribute %d of %d bytes", at, len(a))
			}
		case ipsetAttrCIDR:
			if len(v) < 1 {
				return errTruncated
			}
			bits = int(v[0])
		case ipsetAttrTimeout:
			if len(v) != 4 {
				return fmt.Errorf("timeout of %d bytes", len(v))
			}
			left = time.Duration(binary.BigEndian.Uint32(v)) * time.Second
		case ipsetAttrCadtFlags:
			if len(v) != 4 {
				return fmt.Errorf("flags of %d bytes", len(v))
			}
			foreign = foreign || binary.BigEndian.Uint32(v) != 0
		default:
			foreign = true
		}
		return nil
	})
	if err != nil {
		return found[struct{}]{}, err
	}
	if !addr.IsValid() {
		return found[struct{}]{}, errors.New("no address")
	}
	if bits < 0 {
		bits = addr.BitLen()
	}
	if bits > addr.BitLen() {
		return found[struct{}]{}, fmt.Errorf("%s/%d: prefix too long", addr, bits)
	}
	p := netip.PrefixFrom(addr, bits)
	return found[struct{}]{ban: banOf(jail, p, left, now), ok: !foreign && p == p.Masked()}, nil
}

// eachAttr calls f with each attribute of b in turn, until f fails; a
// truncated attribute is errTruncated.
func eachAttr(b []byte, f func(t uint16, v []byte) error) error {
	for len(b) > 0 {
		t, v, rest, err := ipsetAttr(b)
		if err != nil {
			return err
		}
		if err := f(t, v); err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// ipsetAttr is nextAttr for a list that must hold only whole attributes.
func ipsetAttr(b []byte) (typ uint16, val, rest []byte, err error) {
	typ, val, rest = nextAttr(b)
	if typ == 0 {
		return 0, nil, nil, errTruncated
	}
	return typ, val, rest, nil
}

// cString is a NUL-terminated string attribute without its NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// nfprotoName is the family as ipset prints it.
func nfprotoName(f uint8) string {
	switch f {
	case unix.NFPROTO_IPV4:
		return "inet"
	case unix.NFPROTO_IPV6:
		return "inet6"
	}
	return ""
}
