package steprunner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/executor"
	"github.com/turbocat/turbocat/internal/executor/httpexec"
	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/steprunner"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func runnerOn(t *testing.T, pool *pgxpool.Pool, logs *bytes.Buffer) *steprunner.Runner {
	db := postgres.NewDB(pool)
	return &steprunner.Runner{Store: db, Workflows: db, Agents: db, Transient: postgres.IsTransient,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
}

const payload = `{"action":"step","executionId":"6f1c2b9e-8d4a-4f3e-9a51-0c2d3e4f5a6b","stepKey":"fetch"}`

// A database that cannot be reached fails the step with the name the
// compiled state machines retry, and a cause that says what happens next:
// never the connection string or the driver's message.
func TestDatabaseDownIsRetriedNotLeaked(t *testing.T) {
	t.Parallel()
	url := "postgres://turbocat:hunter2@" + freeAddr(t) + "/turbocat_secret_db?sslmode=disable&connect_timeout=2"
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var logs bytes.Buffer
	_, err = runnerOn(t, pool, &logs).Handle(context.Background(), []byte(payload))
	var se *turbocat.StepError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, turbocat.ErrStoreUnavailable, se.Name)
	require.Contains(t, se.Cause, "retried")
	for _, leak := range []string{"hunter2", "turbocat_secret_db", "127.0.0.1", "dial", "connect"} {
		require.NotContains(t, se.Cause, leak)
	}
	require.Contains(t, logs.String(), "database unavailable", "the detail goes to the server log")
}

// Any other unexpected failure is Turbocat.Internal with a generic cause.
func TestInternalErrorIsGeneric(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var logs bytes.Buffer
	r := runnerOn(t, pool, &logs)
	pool.Close() // "closed pool": not something waiting cures
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Handle(ctx, []byte(payload))
	var se *turbocat.StepError
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, steprunner.ErrInternal, se.Name)
	require.False(t, strings.Contains(se.Cause, "pool"), "the cause is generic: %s", se.Cause)
	require.Contains(t, se.Cause, "6f1c2b9e-8d4a-4f3e-9a51-0c2d3e4f5a6b", "it names the run to look up in the log")
	require.Contains(t, logs.String(), "closed pool")
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	require.False(t, postgres.IsTransient(nil))
	require.False(t, postgres.IsTransient(errors.New("boom")))
	require.False(t, postgres.IsTransient(context.Canceled))
	require.False(t, postgres.IsTransient(turbocat.NotFound("execution")))
}

// flakyStore is the real store whose first FinishStep fails the way a
// database restart does: the agent ran, its result could not be recorded.
type flakyStore struct {
	*postgres.DB
	fails atomic.Int32
}

func (s *flakyStore) FinishStep(ctx context.Context, step turbocat.ClaimedStep, r turbocat.StepResult) (bool, error) {
	if s.fails.Add(-1) >= 0 {
		return false, &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}
	}
	return s.DB.FinishStep(ctx, step, r)
}

// TestRetryAfterLostResult: an API step whose result could not be recorded
// fails with Turbocat.StoreUnavailable; the engine's retry takes the step
// over at once (not after the claim's lease) and calls the API again with
// the same Idempotency-Key, so the receiver can tell it is the same effect.
func TestRetryAfterLostResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u, e, store, r, sent := sendRun(t, "retry@example.com")
	store.fails.Store(1000) // an outage longer than the runner's patience
	r.Lease, r.RecordPatience = time.Minute, 500*time.Millisecond
	payload := []byte(`{"action":"step","executionId":"` + e.ID + `","stepKey":"send"}`)

	_, err := r.Handle(ctx, payload)
	var se *turbocat.StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, turbocat.ErrStoreUnavailable, se.Name)
	require.Less(t, store.fails.Load(), int32(999), "the result was tried again while the database was down")
	store.fails.Store(0) // the database is back

	start := time.Now()
	_, err = r.Handle(ctx, payload)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 10*time.Second, "the retry took over the abandoned claim instead of waiting out its one-minute lease")

	require.Equal(t, []string{e.ID + ":send", e.ID + ":send"}, sent(), "both sends carry the step's stable key")
	steps, err := db.ExecutionSteps(ctx, u.ID, e.ID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, turbocat.StepCompleted, steps[0].Status)
	require.Equal(t, 2, steps[0].Attempt)
}

// TestResultOutlastsShortOutage: a step's result that cannot be recorded
// because the database is briefly unavailable is tried again until it is:
// the step completes in its first attempt and the API is called once.
func TestResultOutlastsShortOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u, e, store, r, sent := sendRun(t, "outage@example.com")
	store.fails.Store(3)
	_, err := r.Handle(ctx, []byte(`{"action":"step","executionId":"`+e.ID+`","stepKey":"send"}`))
	require.NoError(t, err)
	require.Len(t, sent(), 1, "the effect happened once")
	steps, err := db.ExecutionSteps(ctx, u.ID, e.ID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, turbocat.StepCompleted, steps[0].Status)
	require.Equal(t, 1, steps[0].Attempt)
}

// sendRun makes a receiving server, a user, an api agent POSTing to it, a
// one-step workflow of it and a run of it, and a runner on a flakyStore
// over the database; sent answers the Idempotency-Key of each request the
// server received.
func sendRun(t *testing.T, email string) (db *postgres.DB, u *turbocat.User, e *turbocat.Execution, store *flakyStore, r *steprunner.Runner,
	sent func() []string) {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"sent":true}`))
	}))
	t.Cleanup(api.Close)
	sent = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
	base := api.URL
	db = postgres.NewDB(pgtest.Pool(t))
	u = &turbocat.User{Email: email, PasswordHash: "x", Role: turbocat.RoleUser}
	require.NoError(t, db.CreateUser(ctx, u))
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: u.ID})
	agent := &turbocat.Agent{UserID: u.ID, Name: "send", Type: "api", Config: json.RawMessage(`{"method":"POST","url":"` + base + `/send","body":{"hello":"world"}}`)}
	require.NoError(t, db.CreateAgent(ctx, agent, 10))
	w := &turbocat.Workflow{UserID: u.ID, Name: "send", Steps: []turbocat.WorkflowStep{{Key: "send", AgentID: agent.ID, DependsOn: []string{}, Inputs: json.RawMessage(`{}`)}}}
	require.NoError(t, db.CreateWorkflow(ctx, w, 10))
	var err error
	e, _, err = db.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: 1, UserID: u.ID, Trigger: "api", Input: json.RawMessage(`{}`)})
	require.NoError(t, err)
	store = &flakyStore{DB: db}
	r = &steprunner.Runner{Store: store, Workflows: db, Agents: db, Executor: loopbackAPI(), Transient: postgres.IsTransient,
		Logger: slog.New(slog.DiscardHandler)}
	return db, u, e, store, r, sent
}

// loopbackAPI is an executor registry of api agents that may call servers
// on the loopback interface (the tests' receivers).
func loopbackAPI() *executor.Registry {
	reg := executor.NewRegistry()
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	reg.Register(executor.TypeAPI, httpexec.New(httpexec.Options{Client: httpexec.NewClient(httpexec.ClientOptions{AllowCIDRs: allow})}))
	return reg
}

// TestToolCallAfterTheRunEnded: between two turns a step is released,
// still running, and claimed again in the same attempt; a tool call whose
// run was cancelled meanwhile runs nothing and says why, and a tool call
// for a step whose agent is disabled or has no tool loop is refused.
func TestToolCallAfterTheRunEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u, e, _, r, sent := sendRun(t, "released@example.com")
	agents, err := db.AgentsByName(ctx, u.ID, []string{"send"})
	require.NoError(t, err)
	claim := func() *turbocat.StartedStep {
		s, err := db.StartStep(ctx, turbocat.StepStart{ExecutionID: e.ID, StepKey: "send", AgentID: agents["send"].ID, Lease: time.Minute})
		require.NoError(t, err)
		require.True(t, s.Claim.Claimed)
		return s
	}
	first := claim()
	ok, err := db.ReleaseStep(ctx, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: "send", ClaimID: first.Claim.ClaimID}, json.RawMessage(`{"q":1}`))
	require.NoError(t, err)
	require.True(t, ok)
	again := claim()
	require.Equal(t, first.Claim.Step.Attempt, again.Claim.Step.Attempt, "the next turn is the same attempt")
	require.Equal(t, first.Claim.Step.StartedAt, again.Claim.Step.StartedAt, "and keeps the step's start")
	_, err = db.ReleaseStep(ctx, turbocat.ClaimedStep{ExecutionID: e.ID, StepKey: "send", ClaimID: again.Claim.ClaimID}, json.RawMessage(`{"q":1}`))
	require.NoError(t, err)

	tool := []byte(`{"action":"tool","executionId":"` + e.ID + `","stepKey":"send","turn":0,"index":0}`)
	setStatus := func(status string) {
		_, err := db.UpdateAgent(ctx, u.ID, agents["send"].ID, func(a *turbocat.Agent) error { a.Status = status; return nil })
		require.NoError(t, err)
	}
	setStatus(turbocat.AgentDisabled)
	_, err = r.Handle(ctx, tool)
	var se *turbocat.StepError
	require.ErrorAs(t, err, &se)
	require.Equal(t, steprunner.ErrAgentUnavailable, se.Name, "a disabled agent runs no tool call: %s", se.Cause)
	require.Contains(t, se.Cause, "enable it with PATCH")
	setStatus(turbocat.AgentActive)
	_, err = r.Handle(ctx, tool)
	require.ErrorAs(t, err, &se)
	require.Equal(t, steprunner.ErrInput, se.Name, "an api agent has no tool calls: %s", se.Cause)

	ended, err := db.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionCancelled})
	require.NoError(t, err)
	require.True(t, ended)
	_, err = r.Handle(ctx, tool)
	require.ErrorAs(t, err, &se)
	require.Equal(t, steprunner.ErrExecutionFinished, se.Name)
	require.Empty(t, sent(), "nothing ran")
}
