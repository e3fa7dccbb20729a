package analyze

import (
	"net/netip"
	"time"
)

// Failure is one authentication failure recognised in a log.
type Failure struct {
	// Line is the 1-based number of the line on which the failure was
	// recognised, within its file.
	Line int64
	// Time is the line's own timestamp.
	Time time.Time
	// Addr is the client's address. It is invalid when the log names the
	// client only by host name; Host holds that name then.
	Addr netip.Addr
	// Host is the client's host name as written in the log, set only when
	// Addr is invalid. Names are reported, never resolved.
	Host string
	// User is the user name tried, or "" when the line does not tell.
	User string
	// Rule identifies the rule of the filter that recognised the failure.
	Rule string
}

// HostString returns the address, or the host name when there is no address.
func (f *Failure) HostString() string {
	if f.Addr.IsValid() {
		return f.Addr.String()
	}
	return f.Host
}
