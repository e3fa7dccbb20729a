// Command fleetbench measures the fleet's exchange against a real
// PostgreSQL (bench/fleet.sh starts a throwaway one):
//
//   - storm: H hosts whose runs start in the same second, each
//     connecting, sending a new ban and failure counts, reading the
//     fleet's changes and failure sums, and disconnecting, with ROWS
//     fleet bans in the table; beside it the same hosts doing only
//     connect + SELECT 1 + disconnect (the floor any exchange pays).
//   - scale: one host's exchange, run after run, with the tables at
//     each size of -sizes, and the buffers its ban read touches
//     (EXPLAIN ANALYZE), to show the cost follows the changes, not the
//     table.
//
// It prints a Markdown table for bench/RESULTS.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"logjail/config"
	"logjail/fleet"
	"logjail/fleet/pg"
	"logjail/state"
)

var (
	dsn     = flag.String("dsn", "", "superuser DSN of the server (key=value, no dbname)")
	bouncer = flag.String("bouncer", "", "DSN of a PgBouncer in front of it (transaction pooling); the storm runs through it too")
	hosts   = flag.Int("hosts", 200, "simulated hosts in the storm")
	rows    = flag.Int("rows", 100000, "fleet bans in the table during the storm")
	rounds  = flag.Int("rounds", 5, "storms (minutes) to run")
	sizes   = flag.String("sizes", "10000,1000000", "table sizes for the scale runs")
	reps    = flag.Int("reps", 30, "exchanges per size in the scale runs")
)

var now = time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)

// runDSN is where the simulated hosts connect: the server, or a PgBouncer.
var runDSN string

// stormAt numbers the storms, so that each has minutes of its own.
var stormAt time.Duration

func main() {
	flag.Parse()
	runDSN = *dsn
	ctx := context.Background()
	db := freshDB(ctx, "bench_storm")
	fill(ctx, db, 0, *rows)
	fmt.Printf("### Storm: %d hosts starting within the same second (uniformly, as cron's minute starts them), %d fleet bans\n\n", *hosts, *rows)
	storm(ctx, db, time.Second)
	fmt.Printf("\n### Burst: the same %d hosts starting at the same instant\n\n", *hosts)
	storm(ctx, db, 0)
	if *bouncer != "" {
		runDSN = *bouncer
		fmt.Printf("\n### Through PgBouncer (transaction pooling): %d hosts within the same second\n\n", *hosts)
		storm(ctx, db, time.Second)
		fmt.Printf("\n### Through PgBouncer: %d hosts at the same instant\n\n", *hosts)
		storm(ctx, db, 0)
		runDSN = *dsn
	}
	fmt.Printf("\n### Scale: one host's exchange by table size (%d exchanges each)\n\n", *reps)
	fmt.Println("| fleet bans (and failure rows) | median ms | best ms | buffers read by the ban query |")
	fmt.Println("|---:|---:|---:|---:|")
	db = freshDB(ctx, "bench_scale")
	have := 0
	for _, s := range strings.Split(*sizes, ",") {
		n, _ := strconv.Atoi(s)
		fill(ctx, db, have, n-have)
		have = n
		scale(ctx, db, n)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func admin(ctx context.Context, db string) *pgx.Conn {
	c, err := pgx.Connect(ctx, *dsn+" dbname="+db)
	must(err)
	return c
}

func freshDB(ctx context.Context, name string) string {
	c := admin(ctx, "postgres")
	defer c.Close(ctx)
	_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	must(err)
	_, err = c.Exec(ctx, "CREATE DATABASE "+name)
	must(err)
	cl, err := pg.Connect(ctx, &config.Fleet{DSN: *dsn + " dbname=" + name}, "admin")
	must(err)
	_, _, err = pg.Init(ctx, cl)
	must(err)
	cl.Close()
	return name
}

// fill adds n bans from 1,000 hosts (a third of them over) and n failure
// rows in old buckets, from row number from on.
func fill(ctx context.Context, db string, from, n int) {
	c := admin(ctx, db)
	defer c.Close(ctx)
	for lo := from; lo < from+n; lo += 100000 {
		hi := min(lo+100000, from+n)
		_, err := c.Exec(ctx, `INSERT INTO logjail.bans (host, jail, prefix, start, until, offense, seq)
SELECT 'filler' || (i % 1000), 'sshd', ('10.0.0.0'::inet + i)::cidr, $1::timestamptz - interval '1 day' * (i % 3),
	$1::timestamptz + interval '1 hour' - interval '1 day' * (i % 3), 1, i
FROM generate_series($2::bigint, $3::bigint - 1) i`, now, lo, hi)
		must(err)
		_, err = c.Exec(ctx, `INSERT INTO logjail.failures (host, jail, prefix, bucket, count, seq)
SELECT 'filler' || (i % 1000), 'sshd', ('10.0.0.0'::inet + i)::cidr, $1::bigint - 86400 - (i % 8640) * 10, 1, i
FROM generate_series($2::bigint, $3::bigint - 1) i`, now.Unix(), lo, hi)
		must(err)
	}
	for _, t := range []string{"bans", "failures"} {
		_, err := c.Exec(ctx, "VACUUM ANALYZE logjail."+t)
		must(err)
	}
}

// caughtUp is the cursor of a host that has read everything so far.
func caughtUp(ctx context.Context, db string) state.FleetCursor {
	c := admin(ctx, db)
	defer c.Close(ctx)
	var h int64
	must(c.QueryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").Scan(&h))
	raw, _ := json.Marshal(map[string]any{"xid": h, "prefix": "0.0.0.0/0"})
	return state.FleetCursor{"bans": raw, "unbans": raw}
}

// oneRun is a host's run: connect, exchange, disconnect.
func oneRun(ctx context.Context, db, host string, seq uint64, at time.Time, cur state.FleetCursor) (total, exch time.Duration, next state.FleetCursor, err error) {
	start := time.Now()
	f := &config.Fleet{DSN: runDSN + " dbname=" + db, Timeout: 30 * time.Second}
	c, err := pg.Connect(ctx, f, host)
	if err != nil {
		return 0, 0, nil, err
	}
	defer c.Close()
	addr := netip.AddrFrom4([4]byte{172, 16, byte(seq >> 8), byte(seq)})
	p := netip.PrefixFrom(addr, 32)
	b := &state.Ban{Jail: "sshd", Prefix: p, Start: at, Until: at.Add(time.Hour), Offense: 1}
	req := fleet.Request{Now: at, Cursor: cur, Jails: []string{"sshd", "manual"}, MaxBans: 10000,
		Send: []state.FleetEntry{
			{Seq: seq * 2, Kind: state.FleetBan, Ban: b},
			{Seq: seq*2 + 1, Kind: state.FleetFailures, Jail: "sshd", Prefix: p, Bucket: fleet.BucketOf(at), Count: 3},
		},
		Counting: []fleet.Counting{{Jail: "sshd", FindTime: 10 * time.Minute, MaxRetry: 5}},
		Keep:     20 * time.Minute,
	}
	t1 := time.Now()
	resp, err := c.Exchange(ctx, req)
	if err != nil {
		return 0, 0, nil, err
	}
	return time.Since(start), time.Since(t1), resp.Cursor, nil
}

func stats(ds []time.Duration) (best, med, p90, worst time.Duration) {
	slices.Sort(ds)
	return ds[0], ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// storm runs the hosts' runs, each starting at a random point within
// spread of the storm's start.
func storm(ctx context.Context, db string, spread time.Duration) {
	cur := make([]state.FleetCursor, *hosts)
	c0 := caughtUp(ctx, db)
	for i := range cur {
		cur[i] = c0
	}
	var totals, exchs, floors []time.Duration
	var errs int
	for round := 0; round < *rounds; round++ {
		stormAt += time.Minute
		at := now.Add(stormAt)
		var mu sync.Mutex
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for h := 0; h < *hosts; h++ {
			wg.Add(1)
			delay := time.Duration(rand.Int64N(int64(spread) + 1))
			go func() {
				defer wg.Done()
				<-gate
				time.Sleep(delay)
				t, e, next, err := oneRun(ctx, db, fmt.Sprintf("web%03d", h), uint64(round**hosts+h+1), at, cur[h])
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					if errs < 3 {
						log.Print(err)
					}
					return
				}
				totals, exchs, cur[h] = append(totals, t), append(exchs, e), next
			}()
		}
		close(gate)
		wg.Wait()
		// The floor: the same storm doing connect + SELECT 1.
		gate = make(chan struct{})
		for h := 0; h < *hosts; h++ {
			wg.Add(1)
			delay := time.Duration(rand.Int64N(int64(spread) + 1))
			go func() {
				defer wg.Done()
				<-gate
				time.Sleep(delay)
				s := time.Now()
				c, err := pgx.Connect(ctx, runDSN+" dbname="+db)
				if err != nil {
					return
				}
				var one int
				c.QueryRow(ctx, "SELECT 1").Scan(&one)
				c.Close(ctx)
				mu.Lock()
				floors = append(floors, time.Since(s))
				mu.Unlock()
			}()
		}
		close(gate)
		wg.Wait()
	}
	fmt.Println("| per host run (all start at once) | best ms | median ms | p90 ms | worst ms | median × floor |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	fb, fm, fp, fw := stats(floors)
	tb, tm, tp, tw := stats(totals)
	eb, em, ep, ew := stats(exchs)
	fmt.Printf("| exchange (one transaction: send + read bans, unbans, counts) | %s | %s | %s | %s | |\n", ms(eb), ms(em), ms(ep), ms(ew))
	fmt.Printf("| connect + exchange + close | %s | %s | %s | %s | %.1f |\n", ms(tb), ms(tm), ms(tp), ms(tw), float64(tm)/float64(fm))
	fmt.Printf("| floor: connect + SELECT 1 + close | %s | %s | %s | %s | 1.0 |\n", ms(fb), ms(fm), ms(fp), ms(fw))
	fmt.Printf("\n%d runs (%d storms of %d hosts), %d failed.\n", len(totals), *rounds, *hosts, errs)
}

var buffersRE = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)

func scale(ctx context.Context, db string, n int) {
	cur := caughtUp(ctx, db)
	var ds []time.Duration
	for i := 0; i < *reps; i++ {
		_, e, next, err := oneRun(ctx, db, "probe", uint64(n+i+1), now.Add(time.Duration(i)*time.Minute), cur)
		must(err)
		ds = append(ds, e)
		cur = next
	}
	// The ban read of the next run, explained: the buffers it touches.
	c := admin(ctx, db)
	defer c.Close(ctx)
	var p struct {
		Xid int64 `json:"xid"`
	}
	json.Unmarshal(cur["bans"], &p)
	rows, err := c.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) SELECT b.xid FROM logjail.bans b
WHERE (b.xid, b.host, b.jail, b.prefix) > ($1, '', '', '0.0.0.0/0') AND b.host <> 'probe' AND b.jail = ANY($2)
	AND (b.until IS NULL OR b.until > $3)
	AND NOT EXISTS (SELECT 1 FROM logjail.unbans u WHERE u.jail = b.jail AND u.prefix = b.prefix AND u.at >= b.start)
ORDER BY b.xid, b.host, b.jail, b.prefix LIMIT 10001`, p.Xid, []string{"sshd", "manual"}, now)
	must(err)
	buffers := 0
	for rows.Next() {
		var line string
		rows.Scan(&line)
		if m := buffersRE.FindStringSubmatch(line); m != nil && buffers == 0 {
			a, _ := strconv.Atoi(m[1])
			b, _ := strconv.Atoi(m[2])
			buffers = a + b
		}
	}
	rows.Close()
	best, med, _, _ := stats(ds)
	fmt.Printf("| %d | %s | %s | %d |\n", n, ms(med), ms(best), buffers)
	fmt.Fprintln(os.Stderr, "scale", n, "done")
}
