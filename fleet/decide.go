package fleet

import "time"

// Decide finds the fleet's ban of one address from its counts per bucket
// (oldest first): walking the buckets, the failures inside findtime
// (buckets that start within findtime before the current one) reach
// maxretry at some bucket; that bucket's start is the ban's start, the
// count starts afresh after it, and the last such start is returned.
// Buckets that start before after (the address's last ban or unban
// here) do not count. It depends on the counts alone, so every host
// that reads the same counts decides the same ban, whichever runs
// first.
func Decide(counts []Count, findTime time.Duration, maxRetry int, after time.Time) (start time.Time, failures int, ok bool) {
	win := int64(findTime / time.Second)
	from := 0 // first bucket of the window
	sum := 0
	for i, c := range counts {
		if time.Unix(c.Bucket, 0).Before(after) {
			from = i + 1
			continue
		}
		sum += c.Count
		for from < i && counts[from].Bucket <= c.Bucket-win {
			sum -= counts[from].Count
			from++
		}
		if sum >= maxRetry {
			start, failures, ok = time.Unix(c.Bucket, 0), sum, true
			sum, from = 0, i+1
		}
	}
	return start, failures, ok
}
