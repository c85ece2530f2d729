package postgres

import "testing"

func TestStatementName(t *testing.T) {
	for sql, want := range map[string]string{
		"-- name: ExecutionGet :one\nSELECT 1": "ExecutionGet",
		"begin":                                "BEGIN",
		"  SELECT pg_notify($1, $2)":           "SELECT",
		"savepoint sp_1":                       "SAVEPOINT",
		"-- name: EventsClaim :many":           "EventsClaim",
		"insert into t(a) values (1)":          "INSERT",
	} {
		if got := statementName(sql); got != want {
			t.Errorf("statementName(%q) = %q, want %q", sql, got, want)
		}
	}
}
