package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

type replayReport struct {
	ReplayExecutionID string `json:"replayExecutionId"`
	SourceExecutionID string `json:"sourceExecutionId"`
	Version           int    `json:"version"`
	SourceVersion     int    `json:"sourceVersion"`
	Status            string `json:"status"`
	Finished          bool   `json:"finished"`
	Steps             []struct {
		Key          string `json:"key"`
		Status       string `json:"status"`
		Changed      bool   `json:"changed"`
		InputChanged bool   `json:"inputChanged"`
		Source       *struct {
			Status string          `json:"status"`
			Output json.RawMessage `json:"output"`
		} `json:"source"`
		Replay *struct {
			Status string          `json:"status"`
			Output json.RawMessage `json:"output"`
			Error  json.RawMessage `json:"error"`
		} `json:"replay"`
		Diff []struct {
			Path string          `json:"path"`
			Old  json.RawMessage `json:"old"`
			New  json.RawMessage `json:"new"`
		} `json:"diff"`
	} `json:"steps"`
	ChangedSteps []string `json:"changedSteps"`
}

// TestReplay: a run of an api, an llm and a code step is replayed against
// its recorded responses. Unchanged, the replay reports no change; after
// the code agent changes, it reports exactly the code step, with its old
// and new output; a new version whose llm step gets another input shows
// the input change, and its new api step fails with Replay.NoRecording.
// No replay calls the API or the model, sends events or counts as usage;
// another user's run is a 404 and an unfinished run a 409 saying why.
func TestReplay(t *testing.T) {
	t.Parallel()
	var apiCalls, modelCalls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sky":"sunny","temp":21}`))
	}))
	t.Cleanup(api.Close)
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		modelCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		writeAnswer(w, "Take sunglasses", 12, 3)
	}))
	t.Cleanup(model.Close)
	f := setupEngine(t, allowLoopback)
	tok := f.register("replay").AccessToken
	sent := f.eventSink(tok)

	weather := f.create(tok, "/api/v1/agents", map[string]any{"name": "weather", "type": "api",
		"config": map[string]any{"method": "GET", "url": api.URL + "/w?city={{input.city}}"}})
	advisor := f.create(tok, "/api/v1/agents", map[string]any{"name": "advisor", "type": "llm",
		"config": map[string]any{"provider": "openai", "model": "gpt-4o-mini", "baseUrl": model.URL + "/v1", "prompt": "Advice for {{input.city}}?"}})
	shape := f.create(tok, "/api/v1/agents", jsAgent("shape", "function main(input) { return {sky: input.sky.toUpperCase(), advice: input.advice}; }"))
	steps := func(city string) []map[string]any {
		return []map[string]any{
			{"key": "fetch", "agentId": weather, "inputs": map[string]any{"city": "{{inputs.city}}"}},
			{"key": "ask", "agentId": advisor, "inputs": map[string]any{"city": city}},
			{"key": "shape", "agentId": shape, "dependsOn": []string{"fetch", "ask"},
				"inputs": map[string]any{"sky": "{{steps.fetch.output.body.sky}}", "advice": "{{steps.ask.output.text}}"}},
		}
	}
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "outing", "steps": steps("{{inputs.city}}")})
	var run runAnswer
	f.call("POST", "/api/v1/workflows/"+wf+"/execute?wait=20", tok, map[string]any{"input": map[string]any{"city": "Lyon"}}).data(t, &run)
	require.Equal(t, "completed", run.Status, "%s", run.Error)
	require.JSONEq(t, `{"shape":{"sky":"SUNNY","advice":"Take sunglasses"}}`, string(run.Output))
	require.EqualValues(t, 1, apiCalls.Load())
	require.EqualValues(t, 1, modelCalls.Load())

	replay := func(source string, body any) replayReport {
		t.Helper()
		r := f.call("POST", "/api/v1/executions/"+source+"/replay", tok, body)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var rep replayReport
		r.data(t, &rep)
		require.Equal(t, source, rep.SourceExecutionID)
		require.True(t, rep.Finished)
		return rep
	}

	// Unchanged: the same outputs, nothing called.
	same := replay(run.ExecutionID, nil)
	require.Equal(t, "completed", same.Status)
	require.Empty(t, same.ChangedSteps)
	require.Len(t, same.Steps, 3)
	for _, st := range same.Steps {
		require.Equal(t, "same", st.Status, st.Key)
		require.False(t, st.Changed || st.InputChanged, st.Key)
	}

	// The code agent changes: exactly its step changes, old → new.
	require.Equal(t, http.StatusOK, f.call("PATCH", "/api/v1/agents/"+shape, tok, map[string]any{"config": map[string]any{
		"source": "function main(input) { return {sky: input.sky + '!', advice: input.advice}; }"}}).Status)
	changed := replay(run.ExecutionID, map[string]any{})
	require.Equal(t, "completed", changed.Status)
	require.Equal(t, []string{"shape"}, changed.ChangedSteps)
	byKey := map[string]int{}
	for i, st := range changed.Steps {
		byKey[st.Key] = i
	}
	st := changed.Steps[byKey["shape"]]
	require.Equal(t, "changed", st.Status)
	require.False(t, st.InputChanged, "the code's input is the recorded responses")
	require.JSONEq(t, `{"sky":"SUNNY","advice":"Take sunglasses"}`, string(st.Source.Output))
	require.JSONEq(t, `{"sky":"sunny!","advice":"Take sunglasses"}`, string(st.Replay.Output))
	require.Len(t, st.Diff, 1)
	require.Equal(t, "$.sky", st.Diff[0].Path)
	require.JSONEq(t, `"SUNNY"`, string(st.Diff[0].Old))
	require.JSONEq(t, `"sunny!"`, string(st.Diff[0].New))
	for _, k := range []string{"fetch", "ask"} {
		require.Equal(t, "same", changed.Steps[byKey[k]].Status, k)
	}
	require.EqualValues(t, 1, apiCalls.Load(), "a replay makes no API call")
	require.EqualValues(t, 1, modelCalls.Load(), "a replay makes no model call")

	// The report can be read again, and the replay is listed as one.
	var again replayReport
	f.call("GET", "/api/v1/executions/"+changed.ReplayExecutionID+"/replay-report", tok, nil).data(t, &again)
	require.Equal(t, changed.ChangedSteps, again.ChangedSteps)
	var list struct {
		Items []struct {
			ID       string `json:"id"`
			Trigger  string `json:"trigger"`
			ReplayOf string `json:"replayOf"`
		} `json:"items"`
	}
	f.call("GET", "/api/v1/executions?trigger=replay", tok, nil).data(t, &list)
	require.Len(t, list.Items, 2)
	for _, it := range list.Items {
		require.Equal(t, "replay", it.Trigger)
		require.Equal(t, run.ExecutionID, it.ReplayOf)
	}
	var usage struct {
		MonthToDate struct {
			Runs    int     `json:"runs"`
			CostUSD float64 `json:"costUsd"`
		} `json:"monthToDate"`
	}
	f.call("GET", "/api/v1/usage", tok, nil).data(t, &usage)
	require.Equal(t, 1, usage.MonthToDate.Runs, "replays are not usage")

	// A replay sends no lifecycle events: a run started after the replays
	// has its events delivered, the replays have none.
	marker := f.create(tok, "/api/v1/workflows", map[string]any{"name": "marker", "steps": []map[string]any{
		{"key": "shape", "agentId": shape, "inputs": map[string]any{"sky": "grey", "advice": "none"}}}})
	var after runAnswer
	f.call("POST", "/api/v1/workflows/"+marker+"/execute?wait=20", tok, nil).data(t, &after)
	require.Equal(t, "completed", after.Status, "%s", after.Error)
	require.Eventually(t, func() bool {
		for _, e := range sent() {
			if e.Type == turbocat.EventExecutionSucceeded && e.Data.ExecutionID == after.ExecutionID {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the later run's events are delivered")
	for _, e := range sent() {
		require.NotContains(t, []string{same.ReplayExecutionID, changed.ReplayExecutionID}, e.Data.ExecutionID, "a replay sends no lifecycle events (%s)", e.Type)
	}

	// A new version: the llm step's input changes (its recorded answer
	// stands, the change shows), and a new api step has no recording.
	next := append(steps("{{inputs.city}} in winter"), map[string]any{"key": "extra", "agentId": weather, "dependsOn": []string{"shape"}})
	require.Equal(t, http.StatusOK, f.call("PUT", "/api/v1/workflows/"+wf, tok, map[string]any{"name": "outing", "steps": next}).Status)
	v2 := replay(run.ExecutionID, nil)
	require.Equal(t, 2, v2.Version)
	require.Equal(t, 1, v2.SourceVersion)
	require.Equal(t, "failed", v2.Status)
	require.Equal(t, []string{"shape", "extra"}, v2.ChangedSteps)
	byKey = map[string]int{}
	for i, st := range v2.Steps {
		byKey[st.Key] = i
	}
	ask := v2.Steps[byKey["ask"]]
	require.True(t, ask.InputChanged)
	require.False(t, ask.Changed, "the recorded answer stands")
	extra := v2.Steps[byKey["extra"]]
	require.Equal(t, "added", extra.Status)
	require.Nil(t, extra.Source)
	require.Equal(t, "failed", extra.Replay.Status)
	require.Contains(t, string(extra.Replay.Error), "Replay.NoRecording")
	require.Contains(t, string(extra.Replay.Error), "step extra has no recorded response")
	r := f.call("POST", "/api/v1/executions/"+v2.ReplayExecutionID+"/retry", tok, nil)
	require.Equal(t, http.StatusConflict, r.Status, "a retry would call out for real: %s", r.Body)
	require.Contains(t, r.Env.Error.Message, "is a replay, which is not retried")
	// An older version by number: the original code agent is gone (agents
	// are not versioned), the steps are version 1's.
	v1 := replay(run.ExecutionID, map[string]any{"version": 1})
	require.Equal(t, 1, v1.Version)
	require.Equal(t, []string{"shape"}, v1.ChangedSteps)
	require.EqualValues(t, 1, apiCalls.Load())
	require.EqualValues(t, 1, modelCalls.Load())

	// Errors say what to do.
	r = f.call("POST", "/api/v1/executions/"+run.ExecutionID+"/replay", tok, map[string]any{"version": 9})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, r.fields()[0], "has no version 9")
	r = f.call("GET", "/api/v1/executions/"+run.ExecutionID+"/replay-report", tok, nil)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, r.Env.Error.Message, "is not a replay")
	other := f.register("replay-other").AccessToken
	require.Equal(t, http.StatusNotFound, f.call("POST", "/api/v1/executions/"+run.ExecutionID+"/replay", other, nil).Status)
	require.Equal(t, http.StatusNotFound, f.call("GET", "/api/v1/executions/"+changed.ReplayExecutionID+"/replay-report", other, nil).Status)

	slow := f.create(tok, "/api/v1/workflows", map[string]any{"name": "slow", "steps": []map[string]any{{"key": "hold", "type": "wait", "seconds": 3600}}})
	var pending runAnswer
	f.call("POST", "/api/v1/workflows/"+slow+"/execute", tok, nil).data(t, &pending)
	r = f.call("POST", "/api/v1/executions/"+pending.ExecutionID+"/replay", tok, nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	require.Contains(t, r.Env.Error.Message, "only a finished run can be replayed")
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/executions/"+pending.ExecutionID+"/cancel", tok, nil).Status)
}
