package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Permanent is the word that makes a bantime last forever.
const Permanent = "permanent"

// Day and Week are the units logjail adds to Go's durations.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// ParseDuration parses a Go duration ("90s", "1h30m") that may also use the
// units d (24h) and w (7d): "1d", "2w", "1d12h", "1.5d". A sign is allowed;
// callers check the range. A bare number other than 0 is an error: a unit
// is always needed.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", orig)
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q", orig)
	}
	var total time.Duration
	for s != "" {
		// number
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: expected a number at %q", orig, s)
		}
		num := s[:i]
		s = s[i:]
		// unit
		j := 0
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		unit := s[:j]
		s = s[j:]
		if unit == "" {
			return 0, fmt.Errorf("invalid duration %q: missing unit after %s (units: w, d, h, m, s, ms, us, ns)", orig, num)
		}
		var d time.Duration
		var err error
		switch unit {
		case "d", "w":
			d, err = time.ParseDuration(num + "h")
			if err == nil {
				mul := time.Duration(24)
				if unit == "w" {
					mul = 24 * 7
				}
				if d > math.MaxInt64/mul {
					return 0, fmt.Errorf("invalid duration %q: too long", orig)
				}
				d *= mul
			}
		default:
			d, err = time.ParseDuration(num + unit)
		}
		if err != nil {
			switch unit {
			case "d", "w", "h", "m", "s", "ms", "us", "µs", "μs", "ns":
				if strings.Count(num, ".") <= 1 {
					// A well-formed part Go refuses is out of range.
					return 0, fmt.Errorf("invalid duration %q: too long", orig)
				}
			}
			return 0, fmt.Errorf("invalid duration %q: bad part %q (units: w, d, h, m, s, ms, us, ns)", orig, num+unit)
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q: too long", orig)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return total, nil
}

// ParseBanTime parses a bantime: a duration as for ParseDuration, or the
// word "permanent", which gives permanent = true and d = 0.
func ParseBanTime(s string) (d time.Duration, permanent bool, err error) {
	if s == Permanent {
		return 0, true, nil
	}
	d, err = ParseDuration(s)
	return d, false, err
}

// FormatDuration writes d in the units ParseDuration reads, largest first,
// so that a day reads "1d" rather than Go's "24h0m0s": 1d3h4m5s6ms. Weeks
// are used only for whole weeks ("2w", but "9d"). Zero is "0s".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u // two's complement also handles math.MinInt64
	}
	units := []struct {
		name string
		size uint64
	}{
		{"w", uint64(Week)}, {"d", uint64(Day)}, {"h", uint64(time.Hour)},
		{"m", uint64(time.Minute)}, {"s", uint64(time.Second)},
		{"ms", uint64(time.Millisecond)}, {"us", uint64(time.Microsecond)}, {"ns", 1},
	}
	if u%uint64(Day) != 0 || u/uint64(Day)%7 != 0 {
		units = units[1:] // 30d reads better than 4w2d, 1d12h than 0w1d12h
	}
	for _, un := range units {
		if n := u / un.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, un.name)
			u -= n * un.size
		}
	}
	return b.String()
}
