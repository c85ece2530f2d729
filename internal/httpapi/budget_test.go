package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/config"
)

// TestBudgets: a run whose budget the next model call could pass fails
// with Budget.Exceeded before the model is called (the fake provider
// counts); the workflow's, the execute call's and the monthly budget all
// count, and the usage report shows what was spent.
func TestBudgets(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		writeAnswer(w, "ok", 1000, 1000)
	}))
	t.Cleanup(model.Close)
	f := setupEngine(t, func(c *config.Config) { c.HTTPAllowCIDRs = []string{"127.0.0.0/8"} })
	tok := f.register("budget").AccessToken
	// gpt-4o-mini costs $0.15 in and $0.60 out per million tokens: a call
	// with maxTokens 1000 may cost up to about $0.0006.
	llm := f.create(tok, "/api/v1/agents", map[string]any{"name": "say", "type": "llm", "config": map[string]any{
		"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "maxTokens": 1000, "prompt": "Say ok"}})
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "budgeted", "maxCostUsd": 0.0001,
		"steps": []map[string]any{{"key": "say", "agentId": llm}}})
	run := func(wfID string, body map[string]any) (runAnswer, map[string]string) {
		var a runAnswer
		f.call("POST", "/api/v1/workflows/"+wfID+"/execute?wait=20", tok, body).data(t, &a)
		var e map[string]string
		_ = json.Unmarshal(a.Error, &e)
		return a, e
	}

	a, e := run(wf, map[string]any{})
	require.Equal(t, "failed", a.Status)
	require.Equal(t, "Budget.Exceeded", e["error"])
	require.Contains(t, e["cause"], "the run's maxCostUsd")
	require.Zero(t, calls.Load(), "the model is not called")

	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/workflows/"+wf, tok, map[string]any{"maxCostUsd": nil}).Status)
	a, e = run(wf, map[string]any{"maxTokens": 100})
	require.Equal(t, "Budget.Exceeded", e["error"], "the execute call's bound counts: %s", a.Error)
	require.Contains(t, e["cause"], "the run's maxTokens")
	require.Zero(t, calls.Load())

	a, _ = run(wf, map[string]any{})
	require.Equal(t, "completed", a.Status)
	require.EqualValues(t, 1, calls.Load())

	// The month's spend ($0.00075) is above a $0.0005 monthly budget.
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/auth/me", tok, map[string]any{"monthlyBudgetUsd": 0.0005}).Status)
	a, e = run(wf, map[string]any{})
	require.Equal(t, "Budget.Exceeded", e["error"], "%s", a.Error)
	require.Contains(t, e["cause"], "your monthly budget")
	require.EqualValues(t, 1, calls.Load())

	var usage struct {
		MonthToDate struct {
			Runs    int
			CostUSD float64 `json:"costUsd"`
		}
		MonthlyBudgetUSD *float64 `json:"monthlyBudgetUsd"`
		ByDay            []struct {
			Day     string
			CostUSD float64 `json:"costUsd"`
		}
		ByWorkflow []struct {
			Name string
			Runs int
		}
	}
	f.call("GET", "/api/v1/usage?days=7", tok, nil).data(t, &usage)
	require.InDelta(t, 0.00075, usage.MonthToDate.CostUSD, 1e-9)
	require.Equal(t, 4, usage.MonthToDate.Runs)
	require.InDelta(t, 0.0005, *usage.MonthlyBudgetUSD, 1e-12)
	require.Len(t, usage.ByDay, 1)
	require.Equal(t, []struct {
		Name string
		Runs int
	}{{"budgeted", 4}}, usage.ByWorkflow)
	require.Equal(t, http.StatusBadRequest, f.call("GET", "/api/v1/usage?days=400", tok, nil).Status)
}
