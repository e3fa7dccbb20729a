package journal

import (
	"time"

	"logjail/analyze"
)

// AppendRecord appends the entry to dst as a syslog line and fills h with
// its fields, the slices pointing into that line in the slice returned: the time from
// __REALTIME_TIMESTAMP (UTC, microseconds), the host from _HOSTNAME, the
// program from SYSLOG_IDENTIFIER or _COMM, the pid from _PID or
// SYSLOG_PID, the message as it is (newlines and binary included). Give h
// to the TimeParser with Preset before matching the line.
func (e *Entry) AppendRecord(dst []byte, h *analyze.Header) []byte {
	t := time.UnixMicro(e.Realtime).UTC()
	b := e.appendTime(dst, t)
	b = append(b, ' ')
	hostAt := len(b)
	host := e.Hostname()
	if len(host) == 0 {
		host = []byte("-")
	}
	b = append(b, host...)
	b = append(b, ' ')
	progAt := len(b)
	prog := e.Program()
	b = append(b, prog...)
	pid := e.PID()
	pidAt := 0
	if len(pid) > 0 {
		b = append(b, '[')
		pidAt = len(b)
		b = append(b, pid...)
		b = append(b, ']')
	}
	b = append(b, ':', ' ')
	msgAt := len(b)
	b = append(b, e.Message()...)
	*h = analyze.Header{Time: t, Prog: b[progAt : progAt+len(prog)], Msg: b[msgAt:], Repeat: 1}
	if len(e.Hostname()) > 0 {
		h.Host = b[hostAt : hostAt+len(host)]
	}
	if pidAt > 0 {
		h.PID = b[pidAt : pidAt+len(pid)]
	}
	return b
}

// Time returns the entry's time.
func (e *Entry) Time() time.Time { return time.UnixMicro(e.Realtime).UTC() }

// appendTime appends t as 2006-01-02T15:04:05.000000Z; the date and hour
// are formatted once per hour.
func (e *Entry) appendTime(b []byte, t time.Time) []byte {
	us := e.Realtime
	hour := us / 3_600_000_000
	if us < 0 || hour != e.hour || len(e.hourText) == 0 {
		e.hour = hour
		e.hourText = t.AppendFormat(e.hourText[:0], "2006-01-02T15:")
	}
	if us < 0 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	}
	b = append(b, e.hourText...)
	rest := us % 3_600_000_000
	min, sec, micro := rest/60_000_000, rest/1_000_000%60, rest%1_000_000
	b = append(b, byte('0'+min/10), byte('0'+min%10), ':', byte('0'+sec/10), byte('0'+sec%10), '.')
	for d := int64(100_000); d > 0; d /= 10 {
		b = append(b, byte('0'+micro/d%10))
	}
	return append(b, 'Z')
}
