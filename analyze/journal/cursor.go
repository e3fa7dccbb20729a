package journal

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is where reading a source stopped: the cursor of the last entry
// read and what it says, kept apart so that a cursor journalctl cannot
// find still tells when and where it was. The zero Position is a source
// never read.
type Position struct {
	Cursor string `json:"cursor,omitempty"`
	// SeqnumID and Seqnum are the cursor's s= and i=.
	SeqnumID string `json:"seqnum_id,omitempty"`
	Seqnum   uint64 `json:"seqnum,omitempty"`
	// Realtime is the entry's __REALTIME_TIMESTAMP, microseconds since
	// the epoch; or, for a source read to its end when it held no entry
	// yet, the time of that read.
	Realtime int64 `json:"realtime,omitempty"`
}

// cursor is a parsed __CURSOR: s=SEQNUM_ID;i=SEQNUM;b=BOOT_ID;m=MONOTONIC;
// t=REALTIME;x=XOR_HASH, numbers in hex.
type cursor struct {
	seqnumID string
	seqnum   uint64
	realtime int64
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	var have [3]bool
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return c, fmt.Errorf("cursor %q: bad part %q", s, part)
		}
		switch k {
		case "s":
			if len(v) != 32 || strings.Trim(v, "0123456789abcdef") != "" {
				return c, fmt.Errorf("cursor %q: bad seqnum id", s)
			}
			c.seqnumID, have[0] = v, true
		case "i", "t":
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return c, fmt.Errorf("cursor %q: bad %s=", s, k)
			}
			if k == "i" {
				c.seqnum, have[1] = n, true
			} else {
				c.realtime, have[2] = int64(n&(1<<62-1)), true
			}
		case "b", "m", "x":
		default:
			return c, fmt.Errorf("cursor %q: unknown part %q", s, k)
		}
	}
	if !have[0] || !have[1] || !have[2] {
		return c, fmt.Errorf("cursor %q: needs s=, i= and t=", s)
	}
	return c, nil
}
