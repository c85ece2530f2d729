package runtime_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime"
)

// A process restart in the middle of an execution keeps the variables
// assigned before it: they are rebuilt from the StateExited events, in the
// top-level scope and inside a Map iteration.
func TestResumeKeepsVariables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := runtime.NewFakeClock(caseStart)
	j := runtime.NewMemoryJournal()
	def := `{"QueryLanguage":"JSONata","StartAt":"Init","States":{
		"Init":{"Type":"Pass","Assign":{"customer":"{% $states.input.customer %}","rate":2},"Next":"Each"},
		"Each":{"Type":"Map","Items":"{% [1,2] %}","ItemProcessor":{"StartAt":"Scale","States":{
			"Scale":{"Type":"Pass","Assign":{"scaled":"{% $states.input * $rate %}"},"Next":"Approve"},
			"Approve":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
				"Arguments":{"FunctionName":"notify","Payload":{"token":"{% $states.context.Task.Token %}"}},
				"Output":"{% $customer & ':' & $string($scaled) & ':' & $states.result.ok %}","End":true}}},
		 "End":true}}}`
	tokens := make(chan string, 4)
	register := func(rt *runtime.Runtime) {
		rt.RegisterFunction("notify", sendTokens(tokens))
	}
	rt1, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	register(rt1)
	created, err := rt1.CreateStateMachine(ctx, runtime.CreateStateMachineInput{Name: "vars", Definition: def})
	require.NoError(t, err)
	s, err := rt1.StartExecution(ctx, runtime.StartInput{StateMachineArn: created.StateMachineArn, Name: "e1", Input: `{"customer":"ana"}`})
	require.NoError(t, err)
	toks := []string{<-tokens, <-tokens}
	rt1.Close() // the process dies while both iterations wait

	rt2, err := runtime.New(ctx, runtime.Options{Clock: clock, Journal: j})
	require.NoError(t, err)
	t.Cleanup(rt2.Close)
	register(rt2)
	require.NoError(t, rt2.Resume(ctx))
	for _, tok := range toks {
		require.Eventually(t, func() bool { return rt2.SendTaskSuccess(ctx, tok, `{"ok":"yes"}`) == nil }, 5*time.Second, time.Millisecond)
	}
	ex, err := rt2.Wait(ctx, s.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, ex.Status, "%s: %s", ex.Error, ex.Cause)
	require.JSONEq(t, `["ana:2:yes","ana:4:yes"]`, string(ex.Output))
}

// The history shows what each state assigned, as GetExecutionHistory's
// stateExitedEventDetails.assignedVariables (values as JSON strings).
func TestHistoryShowsAssignedVariables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arn := b.machine(t, "assigned", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"n":1,"s.$":"$.s"},"End":true}}}`)
	ex := b.run(t, arn, "e", `{"s":"x"}`)
	require.Equal(t, runtime.StatusSucceeded, ex.Status)
	hist, err := b.rt.GetExecutionHistory(context.Background(), ex.ExecutionArn)
	require.NoError(t, err)
	var exited map[string]any
	for _, e := range hist {
		if e.Type == "PassStateExited" {
			raw, err := json.Marshal(e)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &exited))
		}
	}
	details := exited["stateExitedEventDetails"].(map[string]any)
	require.Equal(t, map[string]any{"n": "1", "s": `"x"`}, details["assignedVariables"])
	require.Equal(t, map[string]any{"truncated": false}, details["assignedVariablesDetails"])
}

// A failing JSONata expression records an EvaluationFailed event naming the
// state and the field.
func TestEvaluationFailedEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arn := b.machine(t, "evalfail", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":{"x":"{% 1 + 'a' %}"},"End":true}}}`)
	ex := b.run(t, arn, "e", `{}`)
	require.Equal(t, runtime.StatusFailed, ex.Status)
	require.Equal(t, "States.QueryEvaluationError", ex.Error)
	require.Contains(t, ex.Cause, `The JSONata expression ' 1 + 'a' ' specified for the field 'Output/x' threw an error`)
	types := eventTypes(t, b.rt, ex.ExecutionArn)
	require.Equal(t, []string{"ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"}, types)
}

// Numbers JSONata computes are written as JavaScript writes them.
func TestJSONataNumbersEncodeAsJavaScript(t *testing.T) {
	t.Parallel()
	b := setup(t)
	arn := b.machine(t, "numbers", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% [1000 * 1000, 1 / 8, 1e21, 0.1 + 0.2] %}","End":true}}}`)
	ex := b.run(t, arn, "e", `{}`)
	require.Equal(t, `[1000000,0.125,1e+21,0.30000000000000004]`, string(ex.Output))
}

// Closed executions stay in memory up to a number of bytes, not a number
// of executions: large runs leave memory sooner than small ones, and the
// journal still describes them.
func TestMemoryBoundedByBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const bound = 400_000
	b := setup(t, func(o *runtime.Options) { o.MaxMemoryBytes = bound })
	arn := b.machine(t, "big", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"C"},"C":{"Type":"Pass","End":true}}}`)
	big := `{"blob":"` + strings.Repeat("x", 100_000) + `"}`
	var first *runtime.Execution
	for i := range 8 {
		ex := b.run(t, arn, "big"+string(rune('a'+i)), big)
		if i == 0 {
			first = ex
		}
		require.LessOrEqual(t, b.rt.RetainedBytes(), int64(bound), "retained memory stays under the bound")
	}
	inMemory := len(b.rt.ListExecutions(ctx, runtime.ListExecutionsInput{}))
	require.Less(t, inMemory, 8, "older large executions left memory")
	require.Greater(t, inMemory, 0)
	old, err := b.rt.DescribeExecution(ctx, first.ExecutionArn)
	require.NoError(t, err, "an evicted execution is described from the journal")
	require.Equal(t, runtime.StatusSucceeded, old.Status)

	small := b.machine(t, "small", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	for i := range 50 {
		b.run(t, small, "s"+strconv.Itoa(i), `{"n":1}`)
	}
	require.GreaterOrEqual(t, len(b.rt.ListExecutions(ctx, runtime.ListExecutionsInput{StateMachineArn: small})), 50, "many small executions fit where few large ones did")
}

// PruneExecutions deletes closed executions older than a cutoff, with
// their history, from memory and the journal; newer and running ones stay.
func TestPruneExecutions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	arn := b.machine(t, "p", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)
	old := b.run(t, arn, "old", `{}`)
	b.clock.Advance(48 * time.Hour)
	cutoff := b.clock.Now().Add(-time.Hour)
	recent := b.run(t, arn, "recent", `{}`)
	n, err := b.rt.PruneExecutions(ctx, cutoff)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = b.rt.DescribeExecution(ctx, old.ExecutionArn)
	require.Equal(t, runtime.CodeExecutionDoesNotExist, runtime.ErrorCode(err), "the old execution is gone")
	events, err := b.j.LoadEvents(ctx, old.ExecutionArn)
	require.NoError(t, err)
	require.Empty(t, events, "with its history")
	got, err := b.rt.DescribeExecution(ctx, recent.ExecutionArn)
	require.NoError(t, err)
	require.Equal(t, runtime.StatusSucceeded, got.Status)
}
