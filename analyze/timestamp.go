package analyze

import (
	"time"
)

// TimeParser reads the timestamp at the start of a log line. It knows:
//
//	Jun 21 16:47:48                      BSD syslog (also "Jun  1", fractions,
//	Sun Jun 21 16:47:48 2005             a weekday before, a year after the time
//	Jun 21 2005 16:47:48                 or before it: journalctl short-precise)
//	2005 Jun 21 16:47:48                 ISO year prefix
//	2026-11-24T10:00:00.123456+01:00     RFC 3339 / ISO 8601 (T or space; zone Z,
//	                                     +hh:mm, +hhmm or none: journalctl short-iso)
//	2026/11/24 10:00:00                  nginx error log
//	[Sun Dec 04 04:47:44 2005]           Apache error log (fractions too)
//	[10/Oct/2000:13:55:36 -0700]         common/combined access log
//	@4000000069248e1000000000            TAI64N (daemontools multilog, runit
//	                                     svlogd -tt, s6-log t)
//	1795514400.123                       Unix seconds (10 digits; fraction
//	                                     optional)
//
// A TAI64N label is 2^62 + 10 + the Unix seconds, the convention of
// libtai, daemontools and runit (TAI was 10 s ahead of UTC in 1970; leap
// seconds since are not counted), which tai64nlocal undoes the same way.
// s6 counts the leap seconds too: its stamps read 27 s (in 2026) late.
// fail2ban takes the label minus 2^62 as the Unix time, 10 s later than
// logjail.
//
// Dates without a year take it from Ref (its year in Loc), one year back
// when the date would lie more than a day after Ref. Times without a zone
// are in Loc.
//
// A TimeParser caches the last hour it converted, so lines of the same hour
// cost no calendar arithmetic; it is not safe for concurrent use.
type TimeParser struct {
	// Ref is the reference time for dates without a year.
	Ref time.Time
	// Loc is the zone of times written without one; nil means time.Local.
	Loc *time.Location

	cacheKey  int64          // packed year, month, day, hour of cacheBase; 0: empty
	cacheBase int64          // Unix time of that hour's start in Loc
	cacheOK   bool           // the hour has one offset: cacheBase serves its lines
	cacheLoc  *time.Location // Loc is exported: a change must empty the cache
	zones     map[int]*time.Location

	// The last line start parsed and its result: lines of the same
	// second repeat it. Parsing reads at most stampLookahead bytes past
	// the stamp, so equal keys that cover that much give equal results.
	lastKey    [48]byte
	lastKeyLen int
	lastT      time.Time
	lastN      int
	lastRef    time.Time
	lastLoc    *time.Location
	// Where the seconds' two digits stand in lastKey, when lastT is a
	// linear function of them (see parse); 0 otherwise. A line of another
	// second of the same minute then costs a subtraction.
	lastSecAt int

	// The year chosen for the last month, day and hour without a year,
	// unless yExact asks to decide line by line.
	yKey, yVal int
	yExact     bool
	yRef       time.Time
	yLoc       *time.Location

	// linear is set by convert when the time it returned moves with the
	// seconds, second for second, across its minute.
	linear bool

	// preset, when set, is what Syslog returns (see Preset).
	preset *Header
}

// Preset makes Syslog return h, whatever the line, until Preset(nil): for
// records that come already split into their fields (journal entries), so
// that filters take those fields as they are rather than parse them back
// from text. The line given with it should still read as that record (time,
// host, tag, message) for filters that look at the text.
func (p *TimeParser) Preset(h *Header) { p.preset = h }

// stampLookahead is how many bytes after a stamp parsing may read to learn
// where the stamp ends: the most is a CLF zone that turns out malformed,
// " +01:0x", whose last digit decides.
const stampLookahead = 7

// NewTimeParser returns a parser with reference time ref and zone loc (nil
// for time.Local).
func NewTimeParser(ref time.Time, loc *time.Location) *TimeParser {
	return &TimeParser{Ref: ref, Loc: loc}
}

// The years a written timestamp may have.
const (
	minYear = 1970
	maxYear = 2200
)

// stamp is a parsed timestamp before conversion.
type stamp struct {
	year, mon, day, hour, min, sec, nsec int
	off                                  int // zone offset in seconds
	secAt                                int // index of the seconds' digits
	hasYear, hasZone                     bool
}

// Parse recognises a timestamp at the start of b. It returns the time and
// the number of bytes the timestamp takes.
func (p *TimeParser) Parse(b []byte) (time.Time, int, bool) {
	if k := p.lastKeyLen; k > 0 && len(b) >= k && p.Ref == p.lastRef && p.Loc == p.lastLoc {
		if string(b[:k]) == string(p.lastKey[:k]) {
			return p.lastT, p.lastN, true
		}
		// The same bytes but for the seconds, which stay below 60: the
		// parsers read those two bytes only as digits of the seconds, so
		// this line parses as the last did, and its time lies as many
		// seconds away as the digits differ.
		if i := p.lastSecAt; i > 0 && b[i] >= '0' && b[i] <= '5' && isDigit(b[i+1]) &&
			string(b[:i]) == string(p.lastKey[:i]) && string(b[i+2:k]) == string(p.lastKey[i+2:k]) {
			d := int(b[i])*10 + int(b[i+1]) - (int(p.lastKey[i])*10 + int(p.lastKey[i+1]))
			p.lastT = p.lastT.Add(time.Duration(d) * time.Second)
			p.lastKey[i], p.lastKey[i+1] = b[i], b[i+1]
			return p.lastT, p.lastN, true
		}
	}
	t, n, secAt, ok := p.parse(b)
	if k := n + stampLookahead; ok && k <= len(p.lastKey) && k <= len(b) {
		p.lastKeyLen = copy(p.lastKey[:], b[:k])
		p.lastT, p.lastN, p.lastRef, p.lastLoc = t, n, p.Ref, p.Loc
		p.lastSecAt = secAt
	}
	return t, n, ok
}

// parse parses the stamp at the start of b. secAt is the index of the
// seconds' first digit when the time is a linear function of the seconds
// within their minute: the zone's offset is written, or it is the same
// all hour long and the year does not depend on the minute (see local and
// yearless); and no leap second. It is 0 otherwise.
func (p *TimeParser) parse(b []byte) (t time.Time, n, secAt int, ok bool) {
	var s stamp
	switch {
	case len(b) == 0:
		return time.Time{}, 0, 0, false
	case b[0] == '[':
		n = parseBracketed(b, &s)
	case isDigit(b[0]):
		if len(b) > 4 && isDigit(b[4]) {
			t, n, ok = p.epoch(b)
			return t, n, 0, ok
		}
		n = parseNumeric(b, &s)
	case b[0] == '@':
		t, n, ok = p.tai64n(b)
		return t, n, 0, ok
	default:
		n = parseNamed(b, &s)
	}
	if n == 0 {
		return time.Time{}, 0, 0, false
	}
	p.linear = false
	if t, ok = p.convert(&s); !ok {
		return time.Time{}, 0, 0, false
	}
	if p.linear && s.sec < 60 {
		secAt = s.secAt
	}
	return t, n, secAt, true
}

// tai64n reads "@" and 24 hex digits: a TAI64 label and nanoseconds.
func (p *TimeParser) tai64n(b []byte) (time.Time, int, bool) {
	const n = 25
	if len(b) < n || (len(b) > n && isHex(b[n])) {
		return time.Time{}, 0, false
	}
	var label, nsec uint64
	for _, c := range b[1:17] {
		v, ok := hexVal(c)
		if !ok {
			return time.Time{}, 0, false
		}
		label = label<<4 | uint64(v)
	}
	for _, c := range b[17:n] {
		v, ok := hexVal(c)
		if !ok {
			return time.Time{}, 0, false
		}
		nsec = nsec<<4 | uint64(v)
	}
	const base = 1<<62 + 10
	if label < base || nsec > 999999999 {
		return time.Time{}, 0, false
	}
	sec := label - base
	if sec > uint64(time.Date(maxYear, 12, 31, 23, 59, 59, 0, time.UTC).Unix()) {
		return time.Time{}, 0, false
	}
	return time.Unix(int64(sec), int64(nsec)).In(p.loc()), n, true
}

// epoch reads Unix seconds, ten digits, and an optional fraction, ended
// by a byte that is no digit, letter or further separator of a date.
func (p *TimeParser) epoch(b []byte) (time.Time, int, bool) {
	sec, ok := num(b, 0, 10)
	if !ok {
		return time.Time{}, 0, false
	}
	i, nsec := 10, 0
	if i+1 < len(b) && b[i] == '.' && isDigit(b[i+1]) {
		i++
		for scale := 100000000; i < len(b) && isDigit(b[i]); i++ {
			nsec += int(b[i]-'0') * scale
			scale /= 10
		}
	}
	if i < len(b) {
		if c := b[i]; isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' || c == '.' || c == '-' || c == '/' || c == ':' {
			return time.Time{}, 0, false
		}
	}
	return time.Unix(int64(sec), int64(nsec)).In(p.loc()), i, true
}

func isHex(c byte) bool {
	_, ok := hexVal(c)
	return ok
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ParseCLF parses an access-log time such as 10/Oct/2000:13:55:36 -0700
// (without the brackets) and returns the bytes it takes.
func (p *TimeParser) ParseCLF(b []byte) (time.Time, int, bool) {
	var s stamp
	n := parseCLF(b, &s)
	if n == 0 {
		return time.Time{}, 0, false
	}
	t, ok := p.convert(&s)
	return t, n, ok
}

func (p *TimeParser) loc() *time.Location {
	if p.Loc == nil {
		return time.Local
	}
	return p.Loc
}

func (p *TimeParser) convert(s *stamp) (time.Time, bool) {
	if s.mon < 1 || s.mon > 12 || s.day < 1 || s.day > daysIn(s.mon, s.year, s.hasYear) ||
		s.hour > 23 || s.min > 59 || s.sec > 60 {
		return time.Time{}, false
	}
	// No log line was written before 1970, and the engine counts in Unix
	// nanoseconds, which end in 2262: a year outside is no timestamp.
	if s.hasYear && (s.year < minYear || s.year > maxYear) {
		return time.Time{}, false
	}
	if s.hasZone {
		p.linear = true
		sec := civilDays(s.year, s.mon, s.day)*86400 + int64(s.hour*3600+s.min*60+s.sec-s.off)
		return time.Unix(sec, int64(s.nsec)).In(p.fixedZone(s.off)), true
	}
	if s.hasYear {
		return p.local(s.year, s), true
	}
	return p.yearless(s), true
}

// yearless converts a date without a year. The year is decided once per
// hour of the calendar; only the hours near Ref+24h need a look at the
// minutes.
func (p *TimeParser) yearless(s *stamp) time.Time {
	key := s.mon<<16 | s.day<<8 | s.hour
	if key != p.yKey || p.Ref != p.yRef || p.Loc != p.yLoc {
		p.yVal, p.yExact = p.year(s, true)
		p.yKey, p.yRef, p.yLoc = key, p.Ref, p.Loc
	}
	if !p.yExact {
		return p.local(p.yVal, s)
	}
	y, _ := p.year(s, false)
	t := p.local(y, s)
	p.linear = false // the next minute may fall in another year
	return t
}

// year returns the year of a date without one: the latest year, from Ref's
// on, in which the date exists and lies at most a day after Ref. Only Feb 29
// can need more than one step back. With hour set it decides for the whole
// hour of s, or reports that the hour must be decided line by line: three
// hours of margin cover any daylight-saving shift.
func (p *TimeParser) year(s *stamp, hour bool) (y int, lineByLine bool) {
	limit := p.Ref.Add(24 * time.Hour)
	// Ref's year on the log's calendar, whatever Location Ref carries: at
	// 23:30 UTC on new year's eve it is already the new year in Berlin.
	for y = p.Ref.In(p.loc()).Year(); ; y-- {
		if s.mon == 2 && s.day == 29 && !isLeap(y) {
			continue
		}
		if !hour {
			if !p.local(y, s).After(limit) {
				return y, false
			}
			continue
		}
		start := time.Date(y, time.Month(s.mon), s.day, s.hour, 0, 0, 0, p.loc())
		switch {
		case !start.Add(3 * time.Hour).After(limit):
			return y, false
		case !start.Add(-3 * time.Hour).After(limit):
			return 0, true
		}
	}
}

// local converts s in year y in the parser's zone. In an hour throughout
// which the zone keeps one offset, a line only adds its minutes and seconds
// to the hour's start, cached. Other hours, those holding a switch to or
// from daylight saving time that is not on the hour (Lord Howe shifts by 30
// minutes at 2:00), and leap seconds go through time.Date, which the cached
// path must agree with.
func (p *TimeParser) local(y int, s *stamp) time.Time {
	loc := p.loc()
	key := int64(y)<<24 | int64(s.mon)<<16 | int64(s.day)<<8 | int64(s.hour) | 1<<62
	if key != p.cacheKey || loc != p.cacheLoc {
		start := time.Date(y, time.Month(s.mon), s.day, s.hour, 0, 0, 0, loc)
		last := time.Date(y, time.Month(s.mon), s.day, s.hour, 59, 59, 0, loc)
		_, end := start.ZoneBounds()
		p.cacheBase = start.Unix()
		p.cacheOK = last.Unix()-p.cacheBase == 3599 && (end.IsZero() || end.After(last))
		p.cacheKey, p.cacheLoc = key, loc
	}
	p.linear = p.cacheOK
	if !p.cacheOK || s.sec == 60 {
		return time.Date(y, time.Month(s.mon), s.day, s.hour, s.min, s.sec, s.nsec, loc)
	}
	return time.Unix(p.cacheBase+int64(s.min*60+s.sec), int64(s.nsec)).In(loc)
}

func (p *TimeParser) fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if z, ok := p.zones[off]; ok {
		return z
	}
	if p.zones == nil {
		p.zones = make(map[int]*time.Location)
	}
	z := time.FixedZone("", off)
	if len(p.zones) < 64 {
		p.zones[off] = z
	}
	return z
}

// civilDays returns the days from 1970-01-01 to the given date (proleptic
// Gregorian calendar).
func civilDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(m, y int, knownYear bool) int {
	switch m {
	case 2:
		if !knownYear || isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num reads exactly n digits at b[i:].
func num(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// month reads a three-letter English month name at b[i:].
func month(b []byte, i int) (int, bool) {
	if i+3 > len(b) {
		return 0, false
	}
	c0, c1, c2 := b[i]|0x20, b[i+1]|0x20, b[i+2]|0x20
	switch c0 {
	case 'j':
		if c1 == 'a' && c2 == 'n' {
			return 1, true
		}
		if c1 == 'u' && c2 == 'n' {
			return 6, true
		}
		if c1 == 'u' && c2 == 'l' {
			return 7, true
		}
	case 'f':
		if c1 == 'e' && c2 == 'b' {
			return 2, true
		}
	case 'm':
		if c1 == 'a' && c2 == 'r' {
			return 3, true
		}
		if c1 == 'a' && c2 == 'y' {
			return 5, true
		}
	case 'a':
		if c1 == 'p' && c2 == 'r' {
			return 4, true
		}
		if c1 == 'u' && c2 == 'g' {
			return 8, true
		}
	case 's':
		if c1 == 'e' && c2 == 'p' {
			return 9, true
		}
	case 'o':
		if c1 == 'c' && c2 == 't' {
			return 10, true
		}
	case 'n':
		if c1 == 'o' && c2 == 'v' {
			return 11, true
		}
	case 'd':
		if c1 == 'e' && c2 == 'c' {
			return 12, true
		}
	}
	return 0, false
}

// weekday reports whether b[i:] starts with a three-letter weekday name.
func weekday(b []byte, i int) bool {
	if i+3 > len(b) {
		return false
	}
	switch string([]byte{b[i] | 0x20, b[i+1] | 0x20, b[i+2] | 0x20}) {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun":
		return true
	}
	return false
}

// clock reads hh:mm:ss[.frac] at b[i:] and returns the index after it.
func clock(b []byte, i int, s *stamp) int {
	var ok1, ok2, ok3 bool
	s.hour, ok1 = num(b, i, 2)
	if !ok1 && i+1 < len(b) && b[i+1] == ':' { // single-digit hour
		s.hour, ok1 = num(b, i, 1)
		i--
	}
	if !ok1 || i+8 > len(b) || b[i+2] != ':' || b[i+5] != ':' {
		return 0
	}
	s.min, ok2 = num(b, i+3, 2)
	s.sec, ok3 = num(b, i+6, 2)
	s.secAt = i + 6
	if !ok2 || !ok3 {
		return 0
	}
	i += 8
	if i < len(b) && (b[i] == '.' || b[i] == ',') && i+1 < len(b) && isDigit(b[i+1]) {
		i++
		scale := 100000000
		for ; i < len(b) && isDigit(b[i]); i++ {
			s.nsec += int(b[i]-'0') * scale
			scale /= 10
		}
	}
	return i
}

// zone reads Z, +hh:mm, +hhmm or +hh at b[i:], returning the index after
// it, or i when there is none.
func zone(b []byte, i int, s *stamp) int {
	if i >= len(b) {
		return i
	}
	if b[i] == 'Z' || b[i] == 'z' {
		s.hasZone = true
		return i + 1
	}
	if b[i] != '+' && b[i] != '-' {
		return i
	}
	h, ok := num(b, i+1, 2)
	if !ok || h > 14 {
		return i
	}
	j, m := i+3, 0
	if j < len(b) && b[j] == ':' {
		if m, ok = num(b, j+1, 2); !ok {
			return i
		}
		j += 3
	} else if m, ok = num(b, j, 2); ok {
		j += 2
	} else {
		m = 0
	}
	if m > 59 {
		return i
	}
	s.off = h*3600 + m*60
	if b[i] == '-' {
		s.off = -s.off
	}
	s.hasZone = true
	return j
}

// parseNamed: [Ddd ]Mmm dd hh:mm:ss[.f][ yyyy] or [Ddd ]Mmm dd yyyy hh:mm:ss.
func parseNamed(b []byte, s *stamp) int {
	i := 0
	if weekday(b, 0) && len(b) > 4 && b[3] == ' ' {
		if _, ok := month(b, 4); ok {
			i = 4
		}
	}
	var ok bool
	if s.mon, ok = month(b, i); !ok || i+4 >= len(b) || b[i+3] != ' ' {
		return 0
	}
	i += 4
	if b[i] == ' ' { // "Jun  1"
		i++
		if s.day, ok = num(b, i, 1); !ok {
			return 0
		}
		i++
	} else if s.day, ok = num(b, i, 2); ok {
		i += 2
	} else if s.day, ok = num(b, i, 1); ok {
		i++
	} else {
		return 0
	}
	if i >= len(b) || b[i] != ' ' {
		return 0
	}
	i++
	if y, ok := num(b, i, 4); ok && i+4 < len(b) && b[i+4] == ' ' {
		s.year, s.hasYear = y, true
		i += 5
	}
	if i = clock(b, i, s); i == 0 {
		return 0
	}
	if !s.hasYear && i+5 <= len(b) && b[i] == ' ' {
		if y, ok := num(b, i+1, 4); ok && (i+5 == len(b) || !isDigit(b[i+5]) && b[i+5] != ':') {
			s.year, s.hasYear = y, true
			i += 5
		}
	}
	return i
}

// parseNumeric: ISO 8601, nginx's yyyy/mm/dd, "yyyy Mmm dd", and the CLF
// date without brackets.
func parseNumeric(b []byte, s *stamp) int {
	y, ok := num(b, 0, 4)
	if !ok {
		return parseCLF(b, s)
	}
	if len(b) < 10 {
		return 0
	}
	s.year, s.hasYear = y, true
	i := 0
	switch b[4] {
	case '-', '/':
		sep := b[4]
		var ok1, ok2 bool
		s.mon, ok1 = num(b, 5, 2)
		s.day, ok2 = num(b, 8, 2)
		if !ok1 || !ok2 || b[7] != sep || len(b) < 11 || (b[10] != 'T' && b[10] != ' ') {
			return 0
		}
		if i = clock(b, 11, s); i == 0 {
			return 0
		}
		if sep == '-' {
			i = zone(b, i, s)
		}
	case ' ':
		if s.mon, ok = month(b, 5); !ok || len(b) < 12 || b[8] != ' ' {
			return 0
		}
		i = 9
		if b[i] == ' ' {
			i++
			s.day, ok = num(b, i, 1)
			i++
		} else {
			s.day, ok = num(b, i, 2)
			i += 2
		}
		if !ok || i >= len(b) || b[i] != ' ' {
			return 0
		}
		i = clock(b, i+1, s)
	default:
		return 0
	}
	return i
}

// parseCLF: dd/Mmm/yyyy:hh:mm:ss -0700.
func parseCLF(b []byte, s *stamp) int {
	var ok1, ok2, ok3 bool
	s.day, ok1 = num(b, 0, 2)
	if !ok1 || len(b) < 12 || b[2] != '/' || b[6] != '/' || b[11] != ':' {
		return 0
	}
	s.mon, ok2 = month(b, 3)
	s.year, ok3 = num(b, 7, 4)
	if !ok2 || !ok3 {
		return 0
	}
	s.hasYear = true
	i := clock(b, 12, s)
	if i == 0 {
		return 0
	}
	if i < len(b) && b[i] == ' ' {
		if j := zone(b, i+1, s); j > i+1 {
			i = j
		}
	}
	return i
}

// parseBracketed: [Ddd Mmm dd hh:mm:ss[.f] yyyy] or [dd/Mmm/yyyy:... zone].
func parseBracketed(b []byte, s *stamp) int {
	i := 0
	if len(b) > 1 && isDigit(b[1]) {
		i = parseCLF(b[1:], s)
	} else {
		i = parseNamed(b[1:], s)
		if !s.hasYear {
			return 0
		}
	}
	if i == 0 || i+1 >= len(b)+1 || i+1 > len(b)-1 || b[i+1] != ']' {
		return 0
	}
	s.secAt++ // counted from b[1:]
	return i + 2
}
