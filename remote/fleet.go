package remote

import (
	"context"
	"time"

	"logjail/config"
	"logjail/fleet"
)

// Exchange connects to the fleet's database as host, sends and reads r
// (fleet/pg's Client.Exchange), and disconnects.
func Exchange(ctx context.Context, f *config.Fleet, host string, r fleet.Request) (*fleet.Response, error) {
	rep, err := run(ctx, VerbExchange, &Call{Host: host, Fleet: f, Request: &r})
	if err != nil {
		return nil, err
	}
	return rep.Response, nil
}

// InitFleet creates or migrates the fleet's schema (fleet/pg's Init) and
// returns its versions before and after.
func InitFleet(ctx context.Context, f *config.Fleet, host string) (from, to int, err error) {
	rep, err := run(ctx, VerbInit, &Call{Host: host, Fleet: f})
	if err != nil {
		return 0, 0, err
	}
	return rep.From, rep.To, nil
}

// Overview reads the fleet's active bans at now and the addresses failing
// on the most hosts (fleet/pg's Client.Overview).
func Overview(ctx context.Context, f *config.Fleet, host string, now time.Time, windows []fleet.Counting, top int) (*fleet.Overview, error) {
	rep, err := run(ctx, VerbOverview, &Call{Host: host, Fleet: f, Now: now, Windows: windows, Top: top})
	if err != nil {
		return nil, err
	}
	return rep.Overview, nil
}
