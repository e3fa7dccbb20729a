package analyze

import "time"

// Window returns the track's failures inside the window that ends at now,
// (now-findTime, now]: those that count towards a ban at now.
func (tr *Track) Window(findTime time.Duration, now time.Time) []int64 {
	from, to := now.Add(-findTime).UnixNano(), now.UnixNano()
	var in []int64
	for _, f := range tr.Failures {
		if f > from && f <= to {
			in = append(in, f)
		}
	}
	return in
}
