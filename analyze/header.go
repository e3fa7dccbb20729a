package analyze

import (
	"bytes"
	"time"
)

// Header is a syslog record split into its parts. The byte slices point
// into the line.
type Header struct {
	Time time.Time
	Host []byte // the logging machine's name; nil when the line has none
	Prog []byte // the tag without its [pid]: sshd, sshd-session, sshd(pam_unix)
	PID  []byte
	Msg  []byte // the message after "tag[pid]: "
	// Repeat is how many times the message was logged: rsyslog writes
	// "message repeated N times: [ msg]" for N identical messages.
	Repeat int
}

// maxRepeat bounds Header.Repeat: a forged "message repeated" line must not
// turn one line into millions of failures.
const maxRepeat = 1000

// Syslog parses line as a syslog record: a timestamp (any TimeParser
// format), an optional host name, a tag with an optional [pid], a colon and
// the message; or RFC 5424 (<PRI>1 TIME HOST APP PROCID MSGID SD MSG).
func (p *TimeParser) Syslog(line []byte, h *Header) bool {
	if p.preset != nil {
		*h = *p.preset
		return true
	}
	*h = Header{Repeat: 1}
	b := line
	if len(b) > 0 && b[0] == '<' {
		j := bytes.IndexByte(b, '>')
		if j < 2 || j > 4 || !isDigits(b[1:j]) {
			return false
		}
		b = b[j+1:]
		if len(b) > 2 && b[0] == '1' && b[1] == ' ' {
			return p.rfc5424(b[2:], h)
		}
	}
	t, n, ok := p.Parse(b)
	if !ok || n >= len(b) || b[n] != ' ' {
		return false
	}
	h.Time = t
	b = b[n+1:]
	// Host, unless the first word is already the tag.
	sp := spaceIndex(b)
	if sp <= 0 {
		return false
	}
	if w := b[:sp]; w[len(w)-1] != ':' {
		h.Host = w
		b = b[sp+1:]
		if sp = spaceIndex(b); sp <= 0 {
			return false
		}
	}
	tag := b[:sp]
	if tag[len(tag)-1] != ':' {
		return false
	}
	tag = tag[:len(tag)-1]
	b = b[sp+1:]
	if n := len(tag); n > 2 && tag[n-1] == ']' {
		if k := bytes.LastIndexByte(tag, '['); k > 0 {
			h.PID = tag[k+1 : n-1]
			tag = tag[:k]
		}
	}
	h.Prog = tag
	// Solaris: "sshd[123]: [ID 800047 auth.info] msg".
	if len(b) > 4 && b[0] == '[' && b[1] == 'I' && b[2] == 'D' && b[3] == ' ' {
		if k := bytes.IndexByte(b, ']'); k > 0 && k+1 < len(b) && b[k+1] == ' ' {
			b = b[k+2:]
		}
	}
	h.Msg = unrepeat(b, h)
	return true
}

// unrepeat strips rsyslog's "message repeated N times: [msg]" wrapper.
// rsyslog copies the message as it holds it, usually with the space that
// followed the tag's colon ("[ Failed ..."), without it when the message
// came without one (RFC 5424 input); both are unwrapped.
func unrepeat(b []byte, h *Header) []byte {
	rest, ok := trimPrefix(b, "message repeated ")
	if !ok {
		return b
	}
	i, n := 0, 0
	for ; i < len(rest) && isDigit(rest[i]); i++ {
		if n < 1<<30 {
			n = n*10 + int(rest[i]-'0')
		}
	}
	rest, ok = trimPrefix(rest[i:], " times: [")
	if n < 1 || !ok || len(rest) == 0 || rest[len(rest)-1] != ']' {
		return b
	}
	rest, _ = trimPrefix(rest, " ")
	h.Repeat = min(n, maxRepeat)
	return rest[:len(rest)-1]
}

// rfc5424 parses "TIME HOST APP PROCID MSGID SD MSG" after "<PRI>1 ".
func (p *TimeParser) rfc5424(b []byte, h *Header) bool {
	t, n, ok := p.Parse(b)
	if !ok || n >= len(b) || b[n] != ' ' {
		return false
	}
	h.Time = t
	b = b[n+1:]
	var f [4][]byte
	for i := range f {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 {
			return false
		}
		f[i], b = b[:sp], b[sp+1:]
	}
	nilv := func(x []byte) []byte {
		if len(x) == 1 && x[0] == '-' {
			return nil
		}
		return x
	}
	h.Host, h.Prog, h.PID = nilv(f[0]), nilv(f[1]), nilv(f[2])
	// Structured data: "-" or one or more [id k="v" ...] elements.
	switch {
	case len(b) > 0 && b[0] == '-':
		b = b[1:]
	case len(b) > 0 && b[0] == '[':
		i, quoted := 0, false
		for ; i < len(b); i++ {
			c := b[i]
			if quoted {
				if c == '\\' {
					i++
				} else if c == '"' {
					quoted = false
				}
				continue
			}
			if c == '"' {
				quoted = true
			} else if c == ']' && (i+1 == len(b) || b[i+1] != '[') {
				break
			}
		}
		if i >= len(b) {
			return false
		}
		b = b[i+1:]
	default:
		return false
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	h.Msg = unrepeat(b, h)
	return true
}
