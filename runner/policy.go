package runner

import (
	"time"

	"logjail/analyze"
	"logjail/config"
)

// Policy turns a jail's settings into the engine's policy.
func Policy(j *config.Jail, history time.Duration) *analyze.Policy {
	p := &analyze.Policy{
		MaxRetry:  j.MaxRetry,
		FindTime:  j.FindTime,
		BanTime:   j.BanTime,
		Permanent: j.Permanent,
		History:   history,
		Ignore:    j.IgnoreIP,
		Prefix6:   j.BanPrefix6,
	}
	if j.Increment.Enabled {
		p.Factor, p.MaxTime = j.Increment.Factor, j.Increment.MaxTime
	}
	return p
}
