package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"logjail/fleet"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"logjail/state"
)

// pos is a place in a table's order of change: (xid, host, jail,
// prefix). A transaction's xid orders it after every transaction that
// had finished when it began, so reading "after the cursor" misses no
// committed row as long as the cursor never passes the oldest
// transaction still running (the snapshot's xmin).
type pos struct {
	Xid    int64        `json:"xid"`
	Host   string       `json:"host,omitempty"`
	Jail   string       `json:"jail,omitempty"`
	Prefix netip.Prefix `json:"prefix,omitzero"`
}

func (p pos) less(q pos) bool {
	if p.Xid != q.Xid {
		return p.Xid < q.Xid
	}
	if p.Host != q.Host {
		return p.Host < q.Host
	}
	if p.Jail != q.Jail {
		return p.Jail < q.Jail
	}
	return p.Prefix.Addr().Less(q.Prefix.Addr()) || (p.Prefix.Addr() == q.Prefix.Addr() && p.Prefix.Bits() < q.Prefix.Bits())
}

func getPos(c state.FleetCursor, table string) (pos, error) {
	var p pos
	if raw, ok := c[table]; ok {
		if err := json.Unmarshal(raw, &p); err != nil {
			return p, fmt.Errorf("fleet cursor %s: %w", table, err)
		}
	}
	if !p.Prefix.IsValid() {
		p.Prefix = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return p, nil
}

func setPos(c state.FleetCursor, table string, p pos) {
	raw, _ := json.Marshal(p)
	c[table] = raw
}

// Exchange sends the outbox and reads the fleet's changes in one
// transaction, sent as one batch (one round trip after the connection):
// the server keeps the sent rows only if it also answered. An error
// leaves the outbox to be sent again; every row carries its seq, and a
// row already applied with that seq is left as it is.
//
// A serialization failure (another transaction wrote the same rows after
// this one began: the server side of a run killed in the middle of its
// exchange still commits what it was sent) is tried again, up to three
// times in all.
func (c *Client) Exchange(ctx context.Context, r fleet.Request) (*fleet.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := c.exchange(ctx, r)
		var pe *pgconn.PgError
		if err == nil || attempt == 3 || !errors.As(err, &pe) || pe.Code != "40001" && pe.Code != "40P01" {
			return resp, err
		}
		// The failed batch left its transaction aborted.
		if _, rerr := c.conn.Exec(ctx, "ROLLBACK"); rerr != nil {
			return nil, err
		}
	}
}

func (c *Client) exchange(ctx context.Context, r fleet.Request) (*fleet.Response, error) {
	resp := &fleet.Response{Cursor: state.FleetCursor{}}
	from, err := getPos(r.Cursor, "bans")
	if err != nil {
		return nil, err
	}
	ufrom, err := getPos(r.Cursor, "unbans")
	if err != nil {
		return nil, err
	}
	limit := r.MaxBans
	if limit <= 0 {
		limit = 10000
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ`)
	if c.stmtTimeout > 0 {
		b.Queue(fmt.Sprintf("SET LOCAL statement_timeout = %d", c.stmtTimeout))
	}
	b.Queue(schemaQuery)
	if err := c.queueSend(b, r); err != nil {
		return nil, err
	}
	reads := !r.SendOnly
	if reads {
		b.Queue(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`)
		b.Queue(`SELECT b.xid, b.host, b.jail, b.prefix, b.start, b.until, b.offense, b.failures, b.manual
FROM logjail.bans b
WHERE (b.xid, b.host, b.jail, b.prefix) > ($1, $2, $3, $4) AND b.host <> $5 AND b.jail = ANY($6)
	AND (b.until IS NULL OR b.until > $7)
	AND NOT EXISTS (SELECT 1 FROM logjail.unbans u WHERE u.jail = b.jail AND u.prefix = b.prefix AND u.at >= b.start)
ORDER BY b.xid, b.host, b.jail, b.prefix
LIMIT $8`, from.Xid, from.Host, from.Jail, from.Prefix, c.host, r.Jails, r.Now, limit+1)
		b.Queue(`SELECT host, jail, prefix, at FROM logjail.unbans
WHERE xid >= $1 AND host <> $2 AND jail = ANY($3)`, ufrom.Xid, c.host, r.Jails)
	}
	counting := reads && len(r.Counting) > 0
	if counting {
		var jails []string
		var since []int64
		var maxretry []int32
		for _, j := range r.Counting {
			jails = append(jails, j.Jail)
			since = append(since, fleet.BucketOf(r.Now.Add(-2*j.FindTime)))
			maxretry = append(maxretry, int32(j.MaxRetry))
		}
		b.Queue(`WITH j AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[]) AS j(jail, since, maxretry)),
recent AS (SELECT f.* FROM logjail.failures f JOIN j USING (jail) WHERE f.bucket >= j.since AND f.bucket <= $4),
hot AS (SELECT r.jail, r.prefix FROM recent r JOIN j USING (jail) GROUP BY r.jail, r.prefix, j.maxretry HAVING sum(r.count) >= j.maxretry)
SELECT r.jail, r.prefix, r.bucket, sum(r.count)::int, count(DISTINCT r.host)::int
FROM recent r JOIN hot USING (jail, prefix)
GROUP BY r.jail, r.prefix, r.bucket ORDER BY r.jail, r.prefix, r.bucket`, jails, since, maxretry, fleet.BucketOf(r.Now))
	}
	b.Queue(`COMMIT`)

	br := c.conn.SendBatch(ctx, b)
	err = func() error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if c.stmtTimeout > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("set statement_timeout: %w", err)
			}
		}
		if err := schemaResult(br.QueryRow()); err != nil {
			return err
		}
		for i := 0; i < c.sendCount(r); i++ {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("send %d changes: %w", len(r.Send), err)
			}
		}
		if reads {
			var horizon int64
			if err := br.QueryRow().Scan(&horizon); err != nil {
				return fmt.Errorf("read snapshot: %w", err)
			}
			if err := readBans(br, limit, from, horizon, resp); err != nil {
				return err
			}
			if err := readUnbans(br, ufrom, horizon, resp); err != nil {
				return err
			}
		}
		if counting {
			if err := readCounts(br, resp); err != nil {
				return err
			}
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.where, err)
	}
	return resp, nil
}

// sendCount is how many statements queueSend queues.
func (c *Client) sendCount(r fleet.Request) int {
	n := len(r.Send)
	if r.Keep > 0 && len(r.Counting) > 0 {
		n++
	}
	return n
}

func (c *Client) queueSend(b *pgx.Batch, r fleet.Request) error {
	for _, e := range r.Send {
		switch e.Kind {
		case state.FleetBan:
			var until *time.Time
			if !e.Ban.Permanent() {
				until = &e.Ban.Until
			}
			b.Queue(`INSERT INTO logjail.bans AS b (host, jail, prefix, start, until, offense, failures, manual, seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (host, jail, prefix) DO UPDATE SET start = EXCLUDED.start, until = EXCLUDED.until,
	offense = EXCLUDED.offense, failures = EXCLUDED.failures, manual = EXCLUDED.manual, seq = EXCLUDED.seq,
	xid = pg_current_xact_id()::text::bigint
WHERE b.seq < EXCLUDED.seq`, c.host, e.Ban.Jail, e.Ban.Prefix, e.Ban.Start, until, e.Ban.Offense, e.Ban.Failures, e.Ban.Manual, int64(e.Seq))
		case state.FleetUnban:
			b.Queue(`INSERT INTO logjail.unbans AS u (host, jail, prefix, at, seq) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (host, jail, prefix) DO UPDATE SET at = EXCLUDED.at, seq = EXCLUDED.seq, xid = pg_current_xact_id()::text::bigint
WHERE u.seq < EXCLUDED.seq`, c.host, e.Jail, e.Prefix, e.At, int64(e.Seq))
		case state.FleetFailures:
			b.Queue(`INSERT INTO logjail.failures AS f (host, jail, prefix, bucket, count, seq) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (host, jail, prefix, bucket) DO UPDATE SET count = EXCLUDED.count, seq = EXCLUDED.seq
WHERE f.seq < EXCLUDED.seq`, c.host, e.Jail, e.Prefix, e.Bucket, e.Count, int64(e.Seq))
		default:
			return fmt.Errorf("fleet outbox: unknown entry kind %q", e.Kind)
		}
	}
	if r.Keep > 0 && len(r.Counting) > 0 {
		b.Queue(`DELETE FROM logjail.failures WHERE host = $1 AND bucket < $2`, c.host, fleet.BucketOf(r.Now.Add(-r.Keep)))
	}
	return nil
}

func readBans(br pgx.BatchResults, limit int, from pos, horizon int64, resp *fleet.Response) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read bans: %w", err)
	}
	var last pos
	for rows.Next() {
		var p pos
		var b state.Ban
		var until *time.Time
		if err := rows.Scan(&p.Xid, &p.Host, &p.Jail, &p.Prefix, &b.Start, &until, &b.Offense, &b.Failures, &b.Manual); err != nil {
			rows.Close()
			return fmt.Errorf("read bans: %w", err)
		}
		if len(resp.Bans) == limit {
			resp.Capped = true
			continue // drain
		}
		b.Jail, b.Prefix, b.Origin = p.Jail, p.Prefix, p.Host
		if until != nil {
			b.Until = *until
		}
		resp.Bans = append(resp.Bans, b)
		last = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read bans: %w", err)
	}
	next := pos{Xid: horizon, Prefix: netip.PrefixFrom(netip.IPv4Unspecified(), 0)}
	if resp.Capped && last.less(next) {
		next = last
	}
	if next.less(from) {
		next = from
	}
	setPos(resp.Cursor, "bans", next)
	return nil
}

func readUnbans(br pgx.BatchResults, from pos, horizon int64, resp *fleet.Response) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read unbans: %w", err)
	}
	for rows.Next() {
		var u fleet.Unban
		if err := rows.Scan(&u.Host, &u.Jail, &u.Prefix, &u.At); err != nil {
			rows.Close()
			return fmt.Errorf("read unbans: %w", err)
		}
		resp.Unbans = append(resp.Unbans, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read unbans: %w", err)
	}
	setPos(resp.Cursor, "unbans", pos{Xid: max(horizon, from.Xid)})
	return nil
}

func readCounts(br pgx.BatchResults, resp *fleet.Response) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read failure counts: %w", err)
	}
	for rows.Next() {
		var n fleet.Count
		if err := rows.Scan(&n.Jail, &n.Prefix, &n.Bucket, &n.Count, &n.Hosts); err != nil {
			rows.Close()
			return fmt.Errorf("read failure counts: %w", err)
		}
		resp.Counts = append(resp.Counts, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read failure counts: %w", err)
	}
	return nil
}
