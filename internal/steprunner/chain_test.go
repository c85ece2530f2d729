package steprunner_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// TestChainedClaim: where steps run in the engine's process (Chain), a
// step's result claims the step that follows it; that step's invocation
// runs from the claim with the upstream output, ten duplicate invocations
// of it call its API once, and a step with two dependents claims neither.
func TestChainedClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	calls := map[string]int{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(api.Close)
	db := postgres.NewDB(pgtest.Pool(t))
	u := &turbocat.User{Email: "chain@example.com", PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(ctx, u))
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID})
	agent := &turbocat.Agent{UserID: u.ID, Name: "echo", Type: "api", Config: json.RawMessage(`{"method":"POST","url":"` + api.URL + `/echo","body":"{{input}}"}`)}
	require.NoError(t, db.CreateAgent(ctx, agent, 10))
	// a → b → c, and c → d, c → e (c has two dependents).
	w := &turbocat.Workflow{UserID: u.ID, Name: "chain", Steps: []turbocat.WorkflowStep{
		{Key: "a", AgentID: agent.ID, DependsOn: []string{}, Inputs: json.RawMessage(`{"n":1}`)},
		{Key: "b", AgentID: agent.ID, DependsOn: []string{"a"}, Inputs: json.RawMessage(`{"n":"{{steps.a.output.body.n}}"}`)},
		{Key: "c", AgentID: agent.ID, DependsOn: []string{"b"}, Inputs: json.RawMessage(`{"n":3}`)},
		{Key: "d", AgentID: agent.ID, DependsOn: []string{"c"}, Inputs: json.RawMessage(`{}`)},
		{Key: "e", AgentID: agent.ID, DependsOn: []string{"c"}, Inputs: json.RawMessage(`{}`)},
	}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)
	r := &steprunner.Runner{Store: db, Workflows: db, Agents: db, Executor: loopbackAPI(), Transient: postgres.IsTransient,
		Logger: slog.New(slog.DiscardHandler), Chain: true}
	step := func(key string) error {
		_, err := r.Handle(ctx, []byte(`{"action":"step","executionId":"`+e.ID+`","stepKey":"`+key+`"}`))
		return err
	}
	steps := func() map[string]*turbocat.ExecutionStep {
		list, err := db.ExecutionSteps(ctx, u.ID, e.ID)
		require.NoError(t, err)
		out := map[string]*turbocat.ExecutionStep{}
		for _, s := range list {
			out[s.StepKey] = s
		}
		return out
	}

	require.NoError(t, step("a"))
	s := steps()
	require.Equal(t, turbocat.StepCompleted, s["a"].Status)
	require.Contains(t, s, "b", "a's result claimed b")
	require.Equal(t, turbocat.StepRunning, s["b"].Status)
	require.Equal(t, 1, s["b"].Attempt)

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- step("b")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	mu.Lock()
	require.Equal(t, 1, calls[e.ID+":b"], "b's API was called once")
	mu.Unlock()
	s = steps()
	require.Equal(t, turbocat.StepCompleted, s["b"].Status)
	require.Equal(t, 1, s["b"].Attempt)
	require.JSONEq(t, `{"n":1}`, string(s["b"].Input), "b ran with a's output")
	require.Equal(t, turbocat.StepRunning, s["c"].Status, "b's result claimed c")

	require.NoError(t, step("c"))
	s = steps()
	require.Equal(t, turbocat.StepCompleted, s["c"].Status)
	require.NotContains(t, s, "d", "c has two dependents: neither is claimed")
	require.NotContains(t, s, "e")
	for _, k := range []string{"d", "e"} {
		require.NoError(t, step(k))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		require.Equal(t, 1, calls[e.ID+":"+k], k)
	}
}

// TestChainedEnd: where steps run in the engine's process, a run's only
// sink records the run's end with its result: the run is completed, with
// its output and one execution.succeeded event, before its Finalize
// invocation, which then changes nothing. A result whose claim was lost
// ends nothing.
func TestChainedEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, r.Body)
	}))
	t.Cleanup(api.Close)
	db := postgres.NewDB(pgtest.Pool(t))
	u := &turbocat.User{Email: "chain-end@example.com", PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(ctx, u))
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID})
	agent := &turbocat.Agent{UserID: u.ID, Name: "echo", Type: "api", Config: json.RawMessage(`{"method":"POST","url":"` + api.URL + `/echo","body":"{{input}}"}`)}
	require.NoError(t, db.CreateAgent(ctx, agent, 10))
	w := &turbocat.Workflow{UserID: u.ID, Name: "end", Steps: []turbocat.WorkflowStep{
		{Key: "x", AgentID: agent.ID, DependsOn: []string{}, Inputs: json.RawMessage(`{"n":1}`)},
		{Key: "y", AgentID: agent.ID, DependsOn: []string{"x"}, Inputs: json.RawMessage(`{"n":2}`)},
	}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)
	r := &steprunner.Runner{Store: db, Workflows: db, Agents: db, Executor: loopbackAPI(), Transient: postgres.IsTransient,
		Logger: slog.New(slog.DiscardHandler), Chain: true}
	call := func(action, key string) {
		t.Helper()
		_, err := r.Handle(ctx, []byte(`{"action":"`+action+`","executionId":"`+e.ID+`","stepKey":"`+key+`"}`))
		require.NoError(t, err)
	}
	succeeded := func() int {
		evs, err := db.ClaimEvents(ctx, 100, time.Minute)
		require.NoError(t, err)
		n := 0
		for _, ev := range evs {
			if ev.Type == turbocat.EventExecutionSucceeded {
				n++
			}
		}
		return n
	}

	call("step", "x")
	run, err := db.Execution(ctx, u.ID, e.ID)
	require.NoError(t, err)
	require.Equal(t, turbocat.ExecutionPending, run.Status, "x is not the run's last step: the run goes on")
	call("step", "y")
	run, err = db.Execution(ctx, u.ID, e.ID)
	require.NoError(t, err)
	require.Equal(t, turbocat.ExecutionCompleted, run.Status, "y's result ended the run")
	require.JSONEq(t, `{"y":{"status":200,"headers":{"Content-Type":"application/json"},"body":{"n":2}}}`, string(run.OutputData))
	require.Equal(t, 1, succeeded())
	call(steprunner.ActionFinalize, "")
	again, err := db.Execution(ctx, u.ID, e.ID)
	require.NoError(t, err)
	require.Equal(t, run.CompletedAt, again.CompletedAt, "Finalize changed nothing")
	require.Zero(t, succeeded(), "and sent no second event")

	// A result recorded under a claim another invocation took over ends
	// nothing.
	lost, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)
	ok, ended, err := db.FinishStepThenEnd(ctx, turbocat.ClaimedStep{ExecutionID: lost.ID, StepKey: "y", ClaimID: turbocat.NewID()},
		turbocat.StepResult{Output: json.RawMessage(`{}`)}, turbocat.Outcome{Status: turbocat.ExecutionCompleted, OutputSteps: []string{"y"}})
	require.NoError(t, err)
	require.False(t, ok)
	require.False(t, ended)
	run, err = db.Execution(ctx, u.ID, lost.ID)
	require.NoError(t, err)
	require.Equal(t, turbocat.ExecutionPending, run.Status)
}
