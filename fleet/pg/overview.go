package pg

import (
	"context"
	"fmt"
	"logjail/fleet"
	"time"

	"github.com/jackc/pgx/v5"

	"logjail/state"
)

// Overview reads the fleet's active bans at now and the addresses whose
// failures inside findtime (of the jails in windows) came from the most
// hosts, at most top of them.
func (c *Client) Overview(ctx context.Context, now time.Time, windows []fleet.Counting, top int) (*fleet.Overview, error) {
	ov := &fleet.Overview{}
	err := pgx.BeginTxFunc(ctx, c.conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := c.begin(ctx, tx); err != nil {
			return err
		}
		if err := checkSchema(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT b.host, b.jail, b.prefix, b.start, b.until, b.offense, b.failures, b.manual
FROM logjail.bans b
WHERE (b.until IS NULL OR b.until > $1) AND b.start <= $1
	AND NOT EXISTS (SELECT 1 FROM logjail.unbans u WHERE u.jail = b.jail AND u.prefix = b.prefix AND u.at >= b.start)
ORDER BY b.host, b.jail, b.prefix`, now)
		if err != nil {
			return fmt.Errorf("read bans: %w", err)
		}
		for rows.Next() {
			var b state.Ban
			var until *time.Time
			if err := rows.Scan(&b.Origin, &b.Jail, &b.Prefix, &b.Start, &until, &b.Offense, &b.Failures, &b.Manual); err != nil {
				rows.Close()
				return fmt.Errorf("read bans: %w", err)
			}
			if until != nil {
				b.Until = *until
			}
			ov.Bans = append(ov.Bans, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read bans: %w", err)
		}
		if len(windows) == 0 {
			return nil
		}
		var jails []string
		var since []int64
		for _, w := range windows {
			jails = append(jails, w.Jail)
			since = append(since, fleet.BucketOf(now.Add(-w.FindTime)))
		}
		rows, err = tx.Query(ctx, `WITH j AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS j(jail, since))
SELECT f.jail, f.prefix, count(DISTINCT f.host)::int, sum(f.count)::int, max(f.bucket)
FROM logjail.failures f JOIN j USING (jail)
WHERE f.bucket >= j.since AND f.bucket <= $3
GROUP BY f.jail, f.prefix
ORDER BY 3 DESC, 4 DESC, f.jail, f.prefix
LIMIT $4`, jails, since, fleet.BucketOf(now), top)
		if err != nil {
			return fmt.Errorf("read failures: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var f fleet.Failing
			var last int64
			if err := rows.Scan(&f.Jail, &f.Prefix, &f.Hosts, &f.Failures, &last); err != nil {
				return fmt.Errorf("read failures: %w", err)
			}
			f.Last = time.Unix(last, 0)
			ov.Failing = append(ov.Failing, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.where, err)
	}
	return ov, nil
}
