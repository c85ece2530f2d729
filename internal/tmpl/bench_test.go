package tmpl

import (
	"context"
	"encoding/json"
	"testing"
)

// BenchmarkRender renders a typical API agent config against a step context.
func BenchmarkRender(b *testing.B) {
	cfg := json.RawMessage(`{"method":"POST","url":"https://api.example.com/v1/users/{{input.id}}?q={{input.q}}","headers":{"Authorization":"Bearer {{secrets.TOKEN}}","X-Trace":"{{execution.id}}"},"body":{"name":"{{input.name}}","items":"{{steps.fetch.output.body.items}}"}}`)
	c := Context{
		Values: map[string]any{
			"input":     json.RawMessage(`{"id":42,"q":"search terms","name":"Ada"}`),
			"execution": json.RawMessage(`{"id":"exec-123"}`),
			"steps":     json.RawMessage(`{"fetch":{"output":{"body":{"items":[1,2,3,{"a":"b"}]}}}}`),
		},
		Secrets: func(_ context.Context, name string) (string, error) { return "tok-123456", nil },
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Render(cfg, c); err != nil {
			b.Fatal(err)
		}
	}
}
