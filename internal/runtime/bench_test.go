package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/turbocat/turbocat/internal/runtime"
)

// Benchmark machines shared with bench/runtime (keep them identical to
// bench/runtime/machines.mjs).

// ChainDefinition returns a linear chain of n no-op Lambda tasks.
func chainDefinition(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"T0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"T%d":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:noop",`, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"T%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

func parallelDefinition(branches int) string {
	var bs []string
	for i := range branches {
		bs = append(bs, fmt.Sprintf(`{"StartAt":"B%d","States":{"B%d":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:noop","End":true}}}`, i, i))
	}
	return `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[` + strings.Join(bs, ",") + `],"End":true}}}`
}

const mapDefinition = `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:noop","End":true}}},"End":true}}}`

func benchMachine(b *testing.B, def, input string, states int) {
	ctx := context.Background()
	// In memory only (no journal), keeping the last 1000 closed executions.
	rt, err := runtime.New(ctx, runtime.Options{MaxClosedExecutions: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	rt.RegisterFunction("noop", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return p, nil })
	sm, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "bench", Definition: def})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: sm.StateMachineArn, Name: fmt.Sprintf("e%d", i), Input: input})
		if err != nil {
			b.Fatal(err)
		}
		ex, err := rt.Wait(ctx, out.ExecutionArn)
		if err != nil || ex.Status != runtime.StatusSucceeded {
			b.Fatalf("execution %v: %v", ex, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(states)/1000, "µs/state")
}

func BenchmarkChain(b *testing.B) {
	for _, n := range []int{1, 40, 400} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) { benchMachine(b, chainDefinition(n), `{"v":1}`, n) })
	}
}

func BenchmarkParallel(b *testing.B) {
	benchMachine(b, parallelDefinition(10), `{"v":1}`, 11)
}

func BenchmarkMap(b *testing.B) {
	items := make([]string, 100)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	benchMachine(b, mapDefinition, `{"items":[`+strings.Join(items, ",")+`]}`, 101)
}
