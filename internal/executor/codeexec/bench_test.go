package codeexec

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/turbocat/turbocat/internal/executor"
)

// BenchmarkWarmRun measures the per-run overhead of a trivial code agent on
// a warm pool: framing, the pipe round trip, a fresh runtime, JSON in and out.
// Target: ≤ 1 ms per run.
func BenchmarkWarmRun(b *testing.B) {
	ex, err := New(Options{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Close()
	ctx := context.Background()
	req := executor.Request{Type: executor.TypeCode, Config: codeConfig(`function main(input){ return {n: input.n + 1} }`, 0), Input: json.RawMessage(`{"n":1}`)}
	if _, err := ex.Execute(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := ex.Execute(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if string(res.Output) != `{"n":2}` {
			b.Fatalf("output %s", res.Output)
		}
	}
}

// BenchmarkWarmRunParallel is BenchmarkWarmRun with concurrent callers over
// a pool of two workers.
func BenchmarkWarmRunParallel(b *testing.B) {
	ex, err := New(Options{Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Close()
	ctx := context.Background()
	req := executor.Request{Type: executor.TypeCode, Config: codeConfig(`function main(input){ return {n: input.n + 1} }`, 0), Input: json.RawMessage(`{"n":1}`)}
	if err := ex.Warm(ctx, 2); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ex.Execute(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkColdRun measures a run on a new executor: worker process start
// (re-exec of the binary, RLIMIT setup) plus the run, i.e. the cost paid
// once per pool slot and again after a worker is killed.
func BenchmarkColdRun(b *testing.B) {
	ctx := context.Background()
	req := executor.Request{Type: executor.TypeCode, Config: codeConfig(`function main(input){ return {n: input.n + 1} }`, 0), Input: json.RawMessage(`{"n":1}`)}
	for i := 0; i < b.N; i++ {
		ex, err := New(Options{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ex.Execute(ctx, req); err != nil {
			b.Fatal(err)
		}
		_ = ex.Close()
	}
}
