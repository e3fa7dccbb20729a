package pg

import "github.com/jackc/pgx/v5"

// Grants returns the SQL that lets role, a host's own login role whose
// name is its fleet.host, take part: it reads every row and, by the
// schema's row-level security, inserts, updates and deletes only rows
// whose host is its name. Run it as the schema's owner after `fleet
// init` (README "A fleet of hosts" shows it).
func Grants(role string) string {
	r := pgx.Identifier{role}.Sanitize()
	return `GRANT USAGE ON SCHEMA logjail TO ` + r + `;
GRANT SELECT ON logjail.schema_version TO ` + r + `;
GRANT SELECT, INSERT, UPDATE, DELETE ON logjail.bans, logjail.unbans, logjail.failures TO ` + r + `;`
}
