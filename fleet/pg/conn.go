package pg

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"logjail/config"
)

// Client is one run's connection to the fleet's database.
type Client struct {
	conn *pgx.Conn
	// host is this host's name in the fleet.
	host string
	// where names the server in messages (host and database, never the
	// password).
	where string
	// stmtTimeout is each statement's limit on the server, in ms; 0
	// for none.
	stmtTimeout int64
}

// begin sets the transaction's statement timeout.
func (c *Client) begin(ctx context.Context, tx pgx.Tx) error {
	if c.stmtTimeout == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", c.stmtTimeout))
	return err
}

// Connect opens a connection for one run. The password, when
// f.PasswordFile is set, is its first line, read now; a file that group
// or others may read is refused. Every statement is bounded by
// three quarters of f.Timeout on the server (statement_timeout), and the
// caller's ctx bounds the whole exchange.
func Connect(ctx context.Context, f *config.Fleet, host string) (*Client, error) {
	var stmt int64
	pc, err := pgx.ParseConfig(f.DSN)
	if err != nil {
		return nil, fmt.Errorf("fleet.dsn: %w", err)
	}
	where := fmt.Sprintf("database %s@%s/%s", pc.User, pc.Host, pc.Database)
	if f.PasswordFile != "" {
		pw, err := readPassword(f.PasswordFile)
		if err != nil {
			return nil, err
		}
		pc.Password = pw
	}
	if f.Timeout > 0 {
		if pc.ConnectTimeout == 0 || pc.ConnectTimeout > f.Timeout {
			pc.ConnectTimeout = f.Timeout
		}
		// A statement the server cannot finish ends on the server, with
		// its own message, before the run's deadline cuts the
		// connection. It is set in each transaction (SET LOCAL), not at
		// connect time, so that it holds through a PgBouncer too.
		stmt = max(1, f.Timeout.Milliseconds()*3/4)
	}
	// A run's connection lives for one exchange: preparing each
	// statement first (pgx's default) would cost a round trip and a
	// server-side prepare per statement for nothing. (Also what a
	// PgBouncer in transaction mode needs.)
	pc.DefaultQueryExecMode = pgx.QueryExecModeExec
	if pc.RuntimeParams["application_name"] == "" {
		pc.RuntimeParams["application_name"] = "logjail " + host
	}
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return &Client{conn: conn, host: host, where: where, stmtTimeout: stmt}, nil
}

// Close ends the connection.
func (c *Client) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.conn.Close(ctx)
}

// readPassword returns the first line of path, refusing a file that
// group or others may read: the password gives a host's rights in the
// fleet.
func readPassword(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("fleet.password_file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("fleet.password_file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: fleet.password_file %s has mode %04o: chmod 600 it", ErrPasswordFile, path, fi.Mode().Perm())
	}
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("fleet.password_file %s: empty", path)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
