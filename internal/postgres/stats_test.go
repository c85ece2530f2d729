package postgres_test

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
)

// TestQueriesAreCountedByName: /metrics counts a pool's statements, a
// batch as one round trip.
func TestQueriesAreCountedByName(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, pgtest.URL(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	count := func(name string) int {
		var b bytes.Buffer
		postgres.WriteQueryMetrics(&b)
		m := regexp.MustCompile(`turbocat_db_queries_by_name_total\{query="` + name + `"\} (\d+)`).FindStringSubmatch(b.String())
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	sel, batch := count("SELECT"), count("BATCH")
	if _, err := pool.Exec(ctx, "select 1"); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("select 1")
	b.Queue("select 2")
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if got := count("SELECT") - sel; got != 1 {
		t.Errorf("SELECT counted %d times, want 1", got)
	}
	if got := count("BATCH") - batch; got != 1 {
		t.Errorf("a batch of two counted %d times, want 1", got)
	}
}
