//go:build linux

package enforce

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftFill adds addresses to hash sets that no rule uses yet (what Stage
// fills), in transactions of its own over the dumpReader's socket, each
// element written straight into its message. The netlink library builds
// a list of attributes and several slices for every element and copies
// them twice, which for 100,000 addresses cost more CPU than the
// kernel's inserts; a stage runs beside the state's transaction, and
// competes with it for the CPU.
type nftFill struct {
	r *dumpReader
	// msgs is the transaction being built; elems counts its elements.
	msgs  []netlink.Message
	elems int
	// data is the message being built: set is its set, n its elements,
	// list the offset of its element list's attribute.
	data []byte
	set  string
	n    int
	list int
	// sent counts the transactions committed.
	sent uint32
}

// newNftFill prepares r's socket for transactions as large as
// nftTxnElems (see tuneSocket).
func newNftFill(r *dumpReader) (*nftFill, error) {
	if err := tuneSocket(r.c); err != nil {
		return nil, err
	}
	return &nftFill{r: r}, nil
}

// add queues address a in set with the timeout (none when zero).
func (f *nftFill) add(set string, a netip.Addr, timeout time.Duration) error {
	if f.set != set || f.n >= nftChunk {
		f.endMessage()
		if f.elems >= nftTxnElems {
			if err := f.commit(); err != nil {
				return err
			}
		}
		f.startMessage(set)
	}
	// NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE key }, NFTA_SET_ELEM_TIMEOUT }
	keyLen := a.BitLen() / 8
	size := 4 + 4 + 4 + keyLen
	if timeout > 0 {
		size += 4 + 8
	}
	d := f.data
	d = attrHeader(d, size, unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED)
	d = attrHeader(d, 4+4+keyLen, unix.NFTA_SET_ELEM_KEY|unix.NLA_F_NESTED)
	d = attrHeader(d, 4+keyLen, unix.NFTA_DATA_VALUE)
	if a.Is4() {
		k := a.As4()
		d = append(d, k[:]...)
	} else {
		k := a.As16()
		d = append(d, k[:]...)
	}
	if timeout > 0 {
		d = attrHeader(d, 4+8, unix.NFTA_SET_ELEM_TIMEOUT)
		d = binary.BigEndian.AppendUint64(d, uint64(timeout.Milliseconds()))
	}
	f.data = d
	f.n++
	f.elems++
	return nil
}

// attrHeader appends a netlink attribute's header: its length, payload
// included (every payload here is a multiple of 4 bytes), and type.
func attrHeader(b []byte, size int, typ uint16) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(size))
	return binary.NativeEndian.AppendUint16(b, typ)
}

// startMessage begins an NFT_MSG_NEWSETELEM message for set in table
// inet logjail.
func (f *nftFill) startMessage(set string) {
	d := make([]byte, 0, 64+nftChunk*44)
	d = append(d, unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0)
	d = appendStringAttr(d, unix.NFTA_SET_ELEM_LIST_TABLE, nftTable)
	d = appendStringAttr(d, unix.NFTA_SET_ELEM_LIST_SET, set)
	f.list = len(d)
	d = attrHeader(d, 0, unix.NFTA_SET_ELEM_LIST_ELEMENTS|unix.NLA_F_NESTED) // length set by endMessage
	f.data, f.set, f.n = d, set, 0
}

// appendStringAttr appends a NUL-terminated string attribute, padded.
func appendStringAttr(b []byte, typ uint16, s string) []byte {
	size := 4 + len(s) + 1
	b = attrHeader(b, size, typ)
	b = append(b, s...)
	b = append(b, 0)
	for range nlAlign(size) - size {
		b = append(b, 0)
	}
	return b
}

// endMessage queues the message being built, if it holds elements.
func (f *nftFill) endMessage() {
	if f.n == 0 {
		f.set = ""
		return
	}
	binary.NativeEndian.PutUint16(f.data[f.list:], uint16(len(f.data)-f.list))
	f.msgs = append(f.msgs, netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM),
			Flags: netlink.Request | netlink.Acknowledge | netlink.Create,
		},
		Data: f.data,
	})
	f.data, f.set, f.n = nil, "", 0
}

// flush commits what is queued.
func (f *nftFill) flush() error {
	f.endMessage()
	return f.commit()
}

// commit sends the queued messages as one transaction and reads the
// kernel's answer to each: an acknowledgement, or the error that failed
// the transaction (after which the socket is not used again).
func (f *nftFill) commit() error {
	if len(f.msgs) == 0 {
		return nil
	}
	batch := make([]netlink.Message, 0, len(f.msgs)+2)
	batch = append(batch, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES},
	})
	batch = append(batch, f.msgs...)
	batch = append(batch, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_MSG_BATCH_END), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES},
	})
	want := len(f.msgs)
	f.msgs, f.elems = f.msgs[:0], 0
	if _, err := f.r.c.SendMessages(batch); err != nil {
		return fmt.Errorf("send set elements: %w", err)
	}
	for acked := 0; acked < want; {
		n, err := f.r.receive()
		if err != nil {
			return err
		}
		for b := f.r.buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			typ, _, _, msg, rest, err := nlNext(b)
			if err != nil {
				return err
			}
			b = rest
			if typ != unix.NLMSG_ERROR || len(msg) < 4 {
				continue
			}
			if errno := int32(binary.NativeEndian.Uint32(msg)); errno < 0 {
				return fmt.Errorf("add set elements: %w", unix.Errno(-errno))
			}
			acked++
		}
	}
	f.sent++
	return nil
}
