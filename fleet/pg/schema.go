package pg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the schema this logjail reads and writes.
const SchemaVersion = 1

// lockKey is the advisory lock `fleet init` holds while it migrates, so
// that two hosts running it at once apply each step once.
const lockKey = 0x6c6f676a61696c // "logjail"

// migrations[i] brings the schema from version i to i+1. A step is
// never changed once released: a new version adds a step.
var migrations = []string{
	// 1: bans, unbans and failure counts, one row per host and key; xid
	// is the writing transaction's id, the order in which hosts read the
	// changes (see Exchange); rows are written only by their host's role
	// (row-level security; the schema's owner is exempt).
	`
CREATE TABLE logjail.bans (
	host     text        NOT NULL,
	jail     text        NOT NULL,
	prefix   cidr        NOT NULL,
	start    timestamptz NOT NULL,
	until    timestamptz,
	offense  integer     NOT NULL,
	failures integer     NOT NULL DEFAULT 0,
	manual   boolean     NOT NULL DEFAULT false,
	seq      bigint      NOT NULL,
	xid      bigint      NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
	PRIMARY KEY (host, jail, prefix)
);
CREATE INDEX bans_changes ON logjail.bans (xid, host, jail, prefix);
CREATE INDEX bans_until ON logjail.bans (until);
CREATE TABLE logjail.unbans (
	host   text        NOT NULL,
	jail   text        NOT NULL,
	prefix cidr        NOT NULL,
	at     timestamptz NOT NULL,
	seq    bigint      NOT NULL,
	xid    bigint      NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
	PRIMARY KEY (host, jail, prefix)
);
CREATE INDEX unbans_changes ON logjail.unbans (xid);
CREATE INDEX unbans_key ON logjail.unbans (jail, prefix, at);
CREATE TABLE logjail.failures (
	host   text    NOT NULL,
	jail   text    NOT NULL,
	prefix cidr    NOT NULL,
	bucket bigint  NOT NULL,
	count  integer NOT NULL,
	seq    bigint  NOT NULL,
	PRIMARY KEY (host, jail, prefix, bucket)
);
CREATE INDEX failures_recent ON logjail.failures (jail, bucket);
DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['bans', 'unbans', 'failures'] LOOP
		EXECUTE format('ALTER TABLE logjail.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY read_all ON logjail.%I FOR SELECT USING (true)', t);
		EXECUTE format('CREATE POLICY insert_own ON logjail.%I FOR INSERT WITH CHECK (host = current_user)', t);
		EXECUTE format('CREATE POLICY update_own ON logjail.%I FOR UPDATE USING (host = current_user) WITH CHECK (host = current_user)', t);
		EXECUTE format('CREATE POLICY delete_own ON logjail.%I FOR DELETE USING (host = current_user)', t);
	END LOOP;
END $$;
`,
}

// Init creates the schema or migrates it to SchemaVersion, in one
// transaction under an advisory lock: a second `fleet init` at the same
// moment waits, then finds the work done. It returns the versions before
// and after.
func Init(ctx context.Context, c *Client) (from, to int, err error) {
	err = pgx.BeginFunc(ctx, c.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS logjail;
CREATE TABLE IF NOT EXISTS logjail.schema_version (version integer NOT NULL)`); err != nil {
			return fmt.Errorf("create schema logjail: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM logjail.schema_version`).Scan(&from); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if from > SchemaVersion {
			return fmt.Errorf("%w: the database has schema version %d, this logjail knows %d: upgrade logjail", ErrNewerSchema, from, SchemaVersion)
		}
		for v := from; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		if from < SchemaVersion {
			if _, err := tx.Exec(ctx, `DELETE FROM logjail.schema_version; INSERT INTO logjail.schema_version VALUES (`+fmt.Sprint(SchemaVersion)+`)`); err != nil {
				return fmt.Errorf("record schema version: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("fleet init on %s: %w", c.where, err)
	}
	return from, SchemaVersion, nil
}

const schemaQuery = `SELECT coalesce(max(version), 0) FROM logjail.schema_version`

// checkSchema fails unless the database has this logjail's schema.
func checkSchema(ctx context.Context, tx pgx.Tx) error {
	return schemaResult(tx.QueryRow(ctx, schemaQuery))
}

// schemaResult checks the answer of schemaQuery.
func schemaResult(row pgx.Row) error {
	var v int
	err := row.Scan(&v)
	if err != nil {
		return fmt.Errorf("%w (run `logjail fleet init` once): %v", ErrNoSchema, err)
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w: the database has schema version %d, this logjail knows %d: upgrade logjail", ErrNewerSchema, v, SchemaVersion)
	case v < SchemaVersion:
		return fmt.Errorf("%w: the database has schema version %d, this logjail needs %d: run `logjail fleet init`", ErrNoSchema, v, SchemaVersion)
	}
	return nil
}
