package state

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// A ban is stored in binary, since every run reads all of them: format
// byte, start and until (Unix nanoseconds, until 0 for permanent),
// offense, failures, flags, then the user names (count, then length and
// bytes each). Jail and prefix are in the key.

const banFormat = 1

// Flags of a ban.
const (
	banManual = 1
	// banOrigin: the origin host's name follows the user names.
	banOrigin = 2
)

func encodeBan(b *Ban) []byte { return appendBan(make([]byte, 0, 32), b) }

// appendBan appends encodeBan(b) to out.
func appendBan(out []byte, b *Ban) []byte {
	out = append(out, banFormat)
	out = binary.AppendVarint(out, b.Start.UnixNano())
	until := int64(0)
	if !b.Until.IsZero() {
		until = b.Until.UnixNano()
	}
	out = binary.AppendVarint(out, until)
	out = binary.AppendUvarint(out, uint64(b.Offense))
	out = binary.AppendUvarint(out, uint64(b.Failures))
	flags := uint64(0)
	if b.Manual {
		flags |= banManual
	}
	if b.Origin != "" {
		flags |= banOrigin
	}
	out = binary.AppendUvarint(out, flags)
	out = binary.AppendUvarint(out, uint64(len(b.Users)))
	for _, u := range b.Users {
		out = binary.AppendUvarint(out, uint64(len(u)))
		out = append(out, u...)
	}
	if b.Origin != "" {
		out = binary.AppendUvarint(out, uint64(len(b.Origin)))
		out = append(out, b.Origin...)
	}
	return out
}

var errBan = errors.New("bad ban encoding")

func decodeBan(jail string, p netip.Prefix, data []byte) (Ban, error) {
	b := Ban{Jail: jail, Prefix: p}
	if len(data) == 0 || data[0] != banFormat {
		return b, errBan
	}
	data = data[1:]
	bad := false
	vi := func() int64 {
		v, n := binary.Varint(data)
		if n <= 0 {
			bad = true
			return 0
		}
		data = data[n:]
		return v
	}
	vu := func() uint64 {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			bad = true
			return 0
		}
		data = data[n:]
		return v
	}
	b.Start = time.Unix(0, vi())
	if u := vi(); u != 0 {
		b.Until = time.Unix(0, u)
	}
	b.Offense, b.Failures = int(vu()), int(vu())
	flags := vu()
	b.Manual = flags&banManual != 0
	n := vu()
	if bad || n > 64 {
		return b, errBan
	}
	for i := uint64(0); i < n; i++ {
		l := vu()
		if bad || l > uint64(len(data)) {
			return b, errBan
		}
		b.Users = append(b.Users, string(data[:l]))
		data = data[l:]
	}
	if flags&banOrigin != 0 {
		l := vu()
		if bad || l == 0 || l > uint64(len(data)) {
			return b, errBan
		}
		b.Origin = string(data[:l])
		data = data[l:]
	}
	if bad || len(data) != 0 {
		return b, errBan
	}
	return b, nil
}
