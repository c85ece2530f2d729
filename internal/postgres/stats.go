package postgres

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// queryCounter counts the statements a pool sends (each one round trip:
// queries, execs, BEGIN/COMMIT, COPY, a batch), in total and by name (the
// sqlc query name, or the statement's first word), for /metrics and the
// benchmarks' "round trips per step".
type queryCounter struct {
	n      atomic.Int64
	byName sync.Map // string → *atomic.Int64
}

func (c *queryCounter) count(sql string) {
	c.n.Add(1)
	name := statementName(sql)
	v, ok := c.byName.Load(name)
	if !ok {
		v, _ = c.byName.LoadOrStore(name, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// statementName is "-- name: X" of a sqlc query, else the first word of
// the statement (BEGIN, COMMIT, SAVEPOINT, ...), upper-cased.
func statementName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		if i := strings.IndexAny(rest, " \n"); i > 0 {
			return rest[:i]
		}
		return rest
	}
	sql = strings.TrimSpace(sql)
	if i := strings.IndexAny(sql, " \n\t("); i > 0 {
		sql = sql[:i]
	}
	if len(sql) > 32 {
		sql = sql[:32]
	}
	return strings.ToUpper(sql)
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.count(d.SQL)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	c.count("COPY " + d.TableName.Sanitize())
	return ctx
}

func (c *queryCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// A batch is one round trip, whatever it holds.
func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.count("BATCH")
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

var queries queryCounter

// QueriesTotal returns how many statements this process's pools have sent.
func QueriesTotal() int64 { return queries.n.Load() }

// WriteQueryMetrics writes the statement counts in the Prometheus text
// format: turbocat_db_queries_total, and by statement name.
func WriteQueryMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP turbocat_db_queries_total Statements sent to Postgres (round trips).\n# TYPE turbocat_db_queries_total counter\nturbocat_db_queries_total %d\n", QueriesTotal())
	type row struct {
		name string
		n    int64
	}
	var rows []row
	queries.byName.Range(func(k, v any) bool {
		rows = append(rows, row{k.(string), v.(*atomic.Int64).Load()})
		return true
	})
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.name, b.name) })
	fmt.Fprintf(w, "# HELP turbocat_db_queries_by_name_total Statements sent to Postgres, by sqlc query name or first keyword.\n# TYPE turbocat_db_queries_by_name_total counter\n")
	for _, r := range rows {
		fmt.Fprintf(w, "turbocat_db_queries_by_name_total{query=%q} %d\n", r.name, r.n)
	}
}
