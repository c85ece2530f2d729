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
	// a → b → c, and c → d, c → e (c has two dependents).
	ctx, db, u, e, r, calls := echoRun(t, "chain@example.com",
		turbocat.WorkflowStep{Key: "a", DependsOn: []string{}, Inputs: json.RawMessage(`{"n":1}`)},
		turbocat.WorkflowStep{Key: "b", DependsOn: []string{"a"}, Inputs: json.RawMessage(`{"n":"{{steps.a.output.body.n}}"}`)},
		turbocat.WorkflowStep{Key: "c", DependsOn: []string{"b"}, Inputs: json.RawMessage(`{"n":3}`)},
		turbocat.WorkflowStep{Key: "d", DependsOn: []string{"c"}, Inputs: json.RawMessage(`{}`)},
		turbocat.WorkflowStep{Key: "e", DependsOn: []string{"c"}, Inputs: json.RawMessage(`{}`)})
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
	require.Equal(t, 1, calls(e.ID+":b"), "b's API was called once")
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
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		require.Equal(t, 1, calls(e.ID+":"+k), k)
	}
}

// TestChainedEnd: where steps run in the engine's process, a run's only
// sink records the run's end with its result: the run is completed, with
// its output and one execution.succeeded event, before its Finalize
// invocation, which then changes nothing. A result whose claim was lost
// ends nothing.
func TestChainedEnd(t *testing.T) {
	t.Parallel()
	ctx, db, u, e, r, _ := echoRun(t, "chain-end@example.com",
		turbocat.WorkflowStep{Key: "x", DependsOn: []string{}, Inputs: json.RawMessage(`{"n":1}`)},
		turbocat.WorkflowStep{Key: "y", DependsOn: []string{"x"}, Inputs: json.RawMessage(`{"n":2}`)})
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
	lost, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: e.WorkflowID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
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

// echoRun makes a server that answers each request with its JSON body
// (counting them by Idempotency-Key), a user, an api agent calling it, a
// workflow of steps all running that agent, a run of it, and a runner with
// Chain over the database.
func echoRun(t *testing.T, email string, steps ...turbocat.WorkflowStep) (ctx context.Context, db *postgres.DB, u *turbocat.User,
	e *turbocat.Execution, r *steprunner.Runner, calls func(key string) int) {
	t.Helper()
	var mu sync.Mutex
	byKey := map[string]int{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		byKey[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(api.Close)
	calls = func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return byKey[key]
	}
	ctx = context.Background()
	db = postgres.NewDB(pgtest.Pool(t))
	u = &turbocat.User{Email: email, PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(ctx, u))
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID})
	agent := &turbocat.Agent{UserID: u.ID, Name: "echo", Type: "api", Config: json.RawMessage(`{"method":"POST","url":"` + api.URL + `/echo","body":"{{input}}"}`)}
	require.NoError(t, db.CreateAgent(ctx, agent, 10))
	for i := range steps {
		steps[i].AgentID = agent.ID
	}
	w := &turbocat.Workflow{UserID: u.ID, Name: "echo", Steps: steps}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	e, _, err := db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)
	r = &steprunner.Runner{Store: db, Workflows: db, Agents: db, Executor: loopbackAPI(), Transient: postgres.IsTransient,
		Logger: slog.New(slog.DiscardHandler), Chain: true}
	return ctx, db, u, e, r, calls
}
