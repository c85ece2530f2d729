package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/postgres"
	"github.com/turbocat/turbocat/internal/postgres/pgtest"
	"github.com/turbocat/turbocat/internal/runtime"
)

// TestMain lets TestRuntimeDurability re-execute this test binary as the
// process that runs the runtime (and gets SIGKILLed).
func TestMain(m *testing.M) {
	if mode := os.Getenv("TURBOCAT_DURABILITY_CHILD"); mode != "" {
		if err := durabilityChild(mode, os.Getenv("TURBOCAT_DURABILITY_SCHEMA")); err != nil {
			fmt.Fprintln(os.Stderr, "durability child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRuntimeJournalRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := postgres.NewRuntimeJournal(pgtest.Pool(t))
	rt, err := runtime.New(ctx, runtime.Options{Journal: j})
	require.NoError(t, err)
	created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "m", Publish: true,
		Definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"n":1.50,"big":12345678901234567890},"End":true}}}`})
	require.NoError(t, err)
	_, err = rt.CreateStateMachineAlias(ctx, runtime.CreateAliasInput{Name: "live", Routing: []runtime.RoutingEntry{{StateMachineVersionArn: created.StateMachineVersionArn, Weight: 100}}})
	require.NoError(t, err)
	s, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn + ":live", Name: "e", Input: `{"a":"b"}`})
	require.NoError(t, err)
	_, err = rt.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	rt.Close()

	rt2, err := runtime.New(ctx, runtime.Options{Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt2.Close)
	ex, err := rt2.DescribeExecution(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	require.JSONEq(t, `{"n":1.50,"big":12345678901234567890}`, string(ex.Output), "numbers survive the journal exactly")
	require.Equal(t, created.StateMachineVersionArn, ex.StateMachineVersionArn)
	hist, err := rt2.GetExecutionHistory(ctx, s.ExecutionArn)
	require.NoError(t, err)
	var types []string
	for _, e := range hist {
		types = append(types, e.Type)
	}
	require.Equal(t, []string{"ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"}, types)
	sm, err := rt2.DescribeStateMachine(ctx, created.StateMachineArn)
	require.NoError(t, err)
	require.Len(t, sm.Versions, 1)
	require.Len(t, sm.Aliases, 1)
}

const durableMachine = `{"StartAt":"Prep","States":{
	"Prep":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:prep","ResultPath":"$.prep","Next":"Pause"},
	"Pause":{"Type":"Wait","SecondsPath":"$.wait","Next":"Approve"},
	"Approve":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"notify","Payload":{"Token.$":"$$.Task.Token","exec.$":"$$.Execution.Name"}},"ResultPath":"$.approval","Next":"Finish"},
	"Finish":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:finish","End":true}}}`

const durableExecutions = 4

// durabilityChild runs the runtime on the test schema. Mode "start" creates
// the machine and starts the executions, then runs until killed; mode
// "resume" resumes them, approves every task token and exits when all
// executions have ended.
func durabilityChild(mode, schema string) error {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL())
	if err != nil {
		return err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	rt, err := runtime.New(ctx, runtime.Options{Journal: postgres.NewRuntimeJournal(pool)})
	if err != nil {
		return err
	}
	record := func(fn string) runtime.Function {
		return func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
			var in struct {
				Token string `json:"Token"`
				Exec  string `json:"exec"`
				ID    int    `json:"id"`
			}
			_ = json.Unmarshal(p, &in)
			if _, err := pool.Exec(ctx, `INSERT INTO durability_calls (fn, exec, token) VALUES ($1, $2, $3)`, fn, fmt.Sprint(in.Exec, in.ID), in.Token); err != nil {
				return nil, err
			}
			if fn == "finish" {
				return json.Marshal(map[string]any{"finished": in.ID})
			}
			return json.RawMessage(`"` + fn + `-done"`), nil
		}
	}
	for _, fn := range []string{"prep", "notify", "finish"} {
		rt.RegisterFunction(fn, record(fn))
	}
	switch mode {
	case "start":
		created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "durable", Definition: durableMachine})
		if err != nil {
			return err
		}
		for i := range durableExecutions {
			wait := 0
			if i >= 2 {
				wait = 3 // still in the Wait state when the parent kills us
			}
			in := fmt.Sprintf(`{"id":%d,"wait":%d}`, i, wait)
			if _, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: fmt.Sprintf("e%d", i), Input: in}); err != nil {
				return err
			}
		}
		select {} // until SIGKILL
	case "resume":
		if err := rt.Resume(ctx); err != nil {
			return err
		}
		deadline := time.Now().Add(40 * time.Second)
		for time.Now().Before(deadline) {
			rows, err := pool.Query(ctx, `SELECT token FROM durability_calls WHERE fn = 'notify'`)
			if err != nil {
				return err
			}
			var tokens []string
			for rows.Next() {
				var tok string
				if err := rows.Scan(&tok); err != nil {
					return err
				}
				tokens = append(tokens, tok)
			}
			rows.Close()
			for _, tok := range tokens {
				_ = rt.SendTaskSuccess(ctx, tok, `{"approved":true}`)
			}
			running := rt.ListExecutions(ctx, runtime.ListExecutionsInput{StatusFilter: runtime.StatusRunning})
			if len(running) == 0 {
				rt.Close()
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("executions still running after 40s")
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func TestRuntimeDurability(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.NewSchema(t)
	_, err := postgres.Migrate(ctx, pool)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE TABLE durability_calls (fn text NOT NULL, exec text NOT NULL, token text NOT NULL)`)
	require.NoError(t, err)

	child := func(mode string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "TURBOCAT_DURABILITY_CHILD="+mode, "TURBOCAT_DURABILITY_SCHEMA="+schema)
		cmd.Stderr = os.Stderr
		return cmd
	}
	first := child("start")
	require.NoError(t, first.Start())
	count := func(q string) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, q).Scan(&n))
		return n
	}
	// Kill once every Prep result is journaled, executions 0 and 1 wait on
	// their token and executions 2 and 3 sit in their Wait state.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM runtime_event_batches b, jsonb_array_elements(b.events) ev WHERE ev->>'type' = 'LambdaFunctionSucceeded'`) == durableExecutions &&
			count(`SELECT count(*) FROM runtime_event_batches b, jsonb_array_elements(b.events) ev WHERE ev->>'type' = 'TaskSubmitted'`) == 2 &&
			count(`SELECT count(*) FROM runtime_event_batches b, jsonb_array_elements(b.events) ev WHERE ev->>'type' = 'WaitStateEntered'`) == durableExecutions
	}, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, 2, count(`SELECT count(*) FROM runtime_event_batches b, jsonb_array_elements(b.events) ev WHERE ev->>'type' = 'WaitStateExited'`), "two executions are still waiting")
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()

	second := child("resume")
	require.NoError(t, second.Run(), "the restarted runtime finishes every execution")

	rt, err := runtime.New(ctx, runtime.Options{Journal: postgres.NewRuntimeJournal(pool)})
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	for i := range durableExecutions {
		arn := fmt.Sprintf("arn:aws:states:us-east-1:123456789012:execution:durable:e%d", i)
		ex, err := rt.DescribeExecution(ctx, arn)
		require.NoError(t, err)
		require.Equal(t, runtime.StatusSucceeded, ex.Status, "execution e%d", i)
		require.JSONEq(t, fmt.Sprintf(`{"finished":%d}`, i), string(ex.Output))
		hist, err := rt.GetExecutionHistory(ctx, arn)
		require.NoError(t, err)
		var states []string
		started := 0
		for _, e := range hist {
			if strings.HasSuffix(e.Type, "StateEntered") {
				states = append(states, e.Name)
			}
			if e.Type == runtime.EvExecutionStarted {
				started++
			}
		}
		require.Equal(t, 1, started)
		require.Equal(t, []string{"Prep", "Pause", "Approve", "Finish"}, states, "each state entered once, in order")
		require.Equal(t, runtime.EvExecutionSucceeded, hist[len(hist)-1].Type)
	}
	for _, fn := range []string{"prep", "notify", "finish"} {
		require.Equal(t, durableExecutions, count(`SELECT count(*) FROM durability_calls WHERE fn = '`+fn+`'`), "%s ran once per execution", fn)
	}
}

// PruneExecutions deletes closed executions that stopped before the
// cutoff, and their events; running ones and newer ones stay.
func TestRuntimeJournalPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := postgres.NewRuntimeJournal(pgtest.Pool(t))
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	save := func(name, status string, stopped time.Time) string {
		e := &runtime.Execution{ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:m:" + name, StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m",
			Name: name, Status: status, StartDate: stopped.Add(-time.Minute), StopDate: stopped, Input: json.RawMessage(`{}`)}
		require.NoError(t, j.SaveExecution(ctx, e))
		require.NoError(t, j.AppendEvents(ctx, e.ExecutionArn, []*runtime.HistoryEvent{{ID: 1, Type: runtime.EvExecutionStarted, Timestamp: e.StartDate}}))
		return e.ExecutionArn
	}
	oldDone := save("old", runtime.StatusSucceeded, now.AddDate(0, 0, -100))
	oldFailed := save("old-failed", runtime.StatusFailed, now.AddDate(0, 0, -91))
	running := save("running", runtime.StatusRunning, time.Time{})
	recent := save("recent", runtime.StatusSucceeded, now.AddDate(0, 0, -10))

	n, err := j.PruneExecutions(ctx, now.AddDate(0, 0, -90), 100)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for _, arn := range []string{oldDone, oldFailed} {
		e, err := j.LoadExecution(ctx, arn)
		require.NoError(t, err)
		require.Nil(t, e)
		events, err := j.LoadEvents(ctx, arn)
		require.NoError(t, err)
		require.Empty(t, events, "the history goes with the execution")
	}
	for _, arn := range []string{running, recent} {
		e, err := j.LoadExecution(ctx, arn)
		require.NoError(t, err)
		require.NotNil(t, e, "kept: %s", arn)
	}
	n, err = j.PruneExecutions(ctx, now.AddDate(0, 0, -90), 100)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestRuntimeJournalKeepsDefinitionsOnce: executions of one definition
// refer to it by hash, stored once, instead of carrying it in each record
// (issue 19); a restarted runtime reads each execution's definition back,
// so resuming, redriving and DescribeStateMachineForExecution still have it.
func TestRuntimeJournalKeepsDefinitionsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	j := postgres.NewRuntimeJournal(pool)
	rt, err := runtime.New(ctx, runtime.Options{Journal: j})
	require.NoError(t, err)
	const v1 = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"one","End":true}}}`
	const v2 = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"two","End":true}}}`
	created, err := rt.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "m", Definition: v1})
	require.NoError(t, err)
	run := func(name string) string {
		s, err := rt.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: name, Input: `{}`})
		require.NoError(t, err)
		_, err = rt.Wait(ctx, s.ExecutionArn)
		require.NoError(t, err)
		return s.ExecutionArn
	}
	first, second := run("a"), run("b")
	_, _, err = rt.UpdateStateMachine(ctx, runtime.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn, Definition: v2})
	require.NoError(t, err)
	third := run("c")
	rt.Close()

	var defs, inline int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM runtime_definitions`).Scan(&defs))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM runtime_executions WHERE doc->>'Definition' <> ''`).Scan(&inline))
	require.Equal(t, 2, defs, "each definition is kept once")
	require.Zero(t, inline, "no record carries its definition")

	rt2, err := runtime.New(ctx, runtime.Options{Journal: postgres.NewRuntimeJournal(pool)})
	require.NoError(t, err)
	t.Cleanup(rt2.Close)
	for arn, want := range map[string]string{first: v1, second: v1, third: v2} {
		got, err := rt2.DescribeExecution(ctx, arn)
		require.NoError(t, err)
		require.JSONEq(t, want, got.Definition, "the definition %s ran", arn)
		one, err := j.LoadExecution(ctx, arn)
		require.NoError(t, err)
		require.JSONEq(t, want, one.Definition)
	}
}

// TestRuntimeJournalEventsInBatches: each write of events is one row, a
// write repeated after an unknown outcome changes nothing, and the history
// reads back in order, each event once.
func TestRuntimeJournalEventsInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	j := postgres.NewRuntimeJournal(pool)
	const arn = "arn:aws:states:us-east-1:123456789012:execution:m:e"
	rec := &runtime.Execution{ExecutionArn: arn, StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:m", Name: "e",
		Status: runtime.StatusRunning, StartDate: time.Now().UTC().Truncate(time.Millisecond)}
	require.NoError(t, j.SaveExecution(ctx, rec))
	events := func(from, to int64) []*runtime.HistoryEvent {
		var out []*runtime.HistoryEvent
		for id := from; id <= to; id++ {
			out = append(out, &runtime.HistoryEvent{ID: id, PreviousEventID: id - 1, Type: fmt.Sprintf("T%d", id), Timestamp: rec.StartDate})
		}
		return out
	}
	require.NoError(t, j.AppendEvents(ctx, arn, events(1, 3)))
	require.NoError(t, j.AppendEvents(ctx, arn, events(1, 3)), "the same batch again is a no-op, not an error")
	require.NoError(t, j.AppendEvents(ctx, arn, events(4, 5)))
	end := *rec
	end.Status, end.StopDate = runtime.StatusSucceeded, rec.StartDate.Add(time.Second)
	require.NoError(t, j.EndExecution(ctx, &end, events(6, 7)))

	var rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM runtime_event_batches WHERE execution_arn = $1`, arn).Scan(&rows))
	require.Equal(t, 3, rows, "one row per write")
	got, err := j.LoadEvents(ctx, arn)
	require.NoError(t, err)
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
	}
	require.Equal(t, []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7"}, types)

	require.NoError(t, j.EndExecution(ctx, &end, nil), "an end without events writes the record alone")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM runtime_event_batches WHERE execution_arn = $1`, arn).Scan(&rows))
	require.Equal(t, 3, rows)
}
