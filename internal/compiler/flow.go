package compiler

import (
	"encoding/json"
	"fmt"

	"github.com/turbocat/turbocat/internal/asl"
)

// # Control flow
//
// Steps that are more than one agent call compile to the matching ASL
// (state names use the step key k):
//
//   - A step that may be skipped (it has a when condition, or every step it
//     depends on may be skipped), and every approval and workflow step
//     (a retried run must not repeat them when the run it retries
//     completed them), starts with the Task "Check k"
//     ({"action": "check"}): the steprunner evaluates the condition (or
//     the skip rule), records the step skipped when it does not run, and
//     returns {"run": bool} (false too for a step already completed), kept at $.check. The Choice "When k" goes on
//     to the step when run is true, else to the Pass "Skip k".
//   - forEach: the Task "Items k" ({"action": "items"}) resolves the list,
//     records one pending iteration per item and returns {"run", "items"}
//     (items are the indexes 0..n-1, at most MaxForEachItems), kept at
//     $.forEach; it also checks a condition, so a conditional for-each
//     needs no Check Task. The Map "Map k" runs the Task "Item k"
//     ({"action": "item", "index"}) per index with the step's retry and
//     timeout, at most MaxConcurrency at a time, and keeps only the count
//     of its results. The Task "Collect k" records the step's output: the
//     list of item outputs in order.
//   - type wait: the Task "Schedule k" records the step waiting and
//     returns its wake-up time (now + seconds, or the until template),
//     kept at $.wait; the Wait "Wait k" waits until it (TimestampPath);
//     the Task "Resume k" records the step completed.
//   - type approval: the Task "Approval k" invokes the steprunner with
//     .waitForTaskToken ({"action": "approval", "taskToken"}): the step
//     waits until the API sends the decision (SendTaskSuccess, or
//     SendTaskFailure with Approval.Rejected). Its timeoutSeconds is the
//     Task's: States.Timeout goes through the Pass "Timed out k", which
//     names the error Approval.TimedOut.
//   - type workflow: the Task "Start k" ({"action": "child"}) records the
//     child run and publishes its workflow version, returning the child's
//     execution id and version ARN ($.child); the Task "Child k" runs it
//     with arn:aws:states:::states:startExecution.sync:2 (the child's
//     execution name is its id, its input {"executionId"}); "Collect k"
//     records the child's output as the step's.
//   - turns (an llm agent's step): the tool loop. The Task "Turn k"
//     ({"action": "turn"}) runs the next model turn and returns
//     {"done", "turn", "calls"}, kept at $.turns; the Choice "Tools
//     wanted k" goes to the Pass "Answered k" when done, else to the Map
//     "Tools k", which runs the Task "Tool k" ({"action": "tool", "turn",
//     "index"}) per call index, all at once, then back to "Turn k"
//     ("Answered k" leaves only {"executionId"} in the state). Each
//     turn and each tool call is one invocation (one Lambda run on AWS,
//     each in the execution history) with the step's retry and timeout,
//     so a loop is bounded by its maxTurns, not by one invocation. A
//     step whose agent has no tools answers done at its first turn.
//   - onError continue: every failure of the step goes to the Task
//     "Continue k" ({"action": "continue", "error"}), which records the
//     step failed and resets the state to {"executionId"}, then on to the
//     next step; without it, failures go to "Failed k" as for any step.
//
// State input stays ids, indexes and flags: outputs never enter it.

// Resources of control-flow Tasks.
const (
	// LambdaInvokeWaitResource invokes the steprunner and waits for a
	// task token (approvals).
	LambdaInvokeWaitResource = "arn:aws:states:::lambda:invoke.waitForTaskToken"
	// StartExecutionSyncResource runs a child state machine and waits for
	// it, its output parsed as JSON.
	StartExecutionSyncResource = "arn:aws:states:::states:startExecution.sync:2"
)

// DefaultMaxConcurrency is a forEach step's concurrency when unset.
const DefaultMaxConcurrency = 10

// MaxForEachItems is the longest list a forEach step runs inline (the Map
// state's input stays small: the indexes only).
const MaxForEachItems = 1000

// Step types and onError values (as turbocat names them).
const (
	typeWait     = "wait"
	typeApproval = "approval"
	typeWorkflow = "workflow"
	onContinue   = "continue"
)

// skippable returns the steps a Choice may skip: those with a condition,
// and those whose dependencies may all be skipped (a step whose every
// upstream step was skipped is skipped too). steps form a valid DAG.
func skippable(steps []Step) map[string]bool {
	byKey := make(map[string]*Step, len(steps))
	for i := range steps {
		byKey[steps[i].Key] = &steps[i]
	}
	memo := map[string]bool{}
	var may func(k string) bool
	may = func(k string) bool {
		if v, ok := memo[k]; ok {
			return v
		}
		s := byKey[k]
		v := s.When != ""
		if !v && len(s.DependsOn) > 0 {
			v = true
			for _, d := range s.DependsOn {
				if !may(d) {
					v = false
					break
				}
			}
		}
		memo[k] = v
		return v
	}
	for _, s := range steps {
		may(s.Key)
	}
	return memo
}

// gated reports whether a step starts with a Check Task and a Choice: it
// may be skipped, or it is an approval or a child run, which a retried run
// must not repeat when the run it retries completed them (Check answers
// false for a completed step).
func (c *compiler) gated(key string) bool {
	t := c.steps[key].Type
	return c.skippable[key] || t == typeApproval || t == typeWorkflow
}

// plain reports whether a step is one agent call with nothing around it.
func (c *compiler) plain(key string) bool {
	s := c.steps[key]
	return (s.Type == "" || s.Type == "agent") && s.ForEach == "" && !s.Turns && !c.skippable[key] && s.OnError != onContinue
}

// turnLoop adds the states of a step's tool loop but its entry, the Task
// "Turn k" (returned), and returns its exit, the Pass "Answered k".
func (c *compiler) turnLoop(sc *scope, key string, s *Step, onFail string) (entry *namedState, exit *asl.State) {
	turnName, choiceName, mapName, answered := "Turn "+key, "Tools wanted "+key, "Tools "+key, "Answered "+key
	turn := c.task(payload("turn", key, ""))
	turn.ResultSelector = json.RawMessage(`{"calls.$":"$.Payload.calls","done.$":"$.Payload.done","turn.$":"$.Payload.turn"}`)
	turn.ResultPath = asl.PathOf("$.turns")
	c.stepSettings(turn, s)
	turn.Catch = []*asl.Catcher{catchAll(onFail)}
	turn.Next = choiceName
	sc.add(choiceName, &asl.State{
		Type:    asl.TypeChoice,
		Choices: []*asl.ChoiceRule{{Variable: "$.turns.done", BooleanEquals: ptr(true), Next: answered}},
		Default: mapName,
	})
	tool := c.task(payload("tool", key, `"index.$":"$.index","turn.$":"$.turn",`))
	c.stepSettings(tool, s)
	tool.End = true
	sc.add(mapName, &asl.State{
		Type:         asl.TypeMap,
		ItemsPath:    "$.turns.calls",
		ItemSelector: json.RawMessage(`{"executionId.$":"$.executionId","index.$":"$$.Map.Item.Value","turn.$":"$.turns.turn"}`),
		ItemProcessor: &asl.ItemProcessor{
			ProcessorConfig: &asl.ProcessorConfig{Mode: "INLINE"},
			StartAt:         "Tool " + key,
			States:          map[string]*asl.State{"Tool " + key: tool},
		},
		ResultPath: asl.NullPath(),
		Catch:      []*asl.Catcher{catchAll(onFail)},
		Next:       turnName,
	})
	// The loop's result leaves the state: it is {"executionId"} again.
	exit = &asl.State{Type: asl.TypePass, Parameters: json.RawMessage(`{"executionId.$":"$.executionId"}`)}
	sc.add(answered, exit)
	return &namedState{name: turnName, state: turn}, exit
}

// payload is a steprunner payload for the step's action.
func payload(action, key string, extra string) string {
	return `{"action":"` + action + `","executionId.$":"$.executionId",` + extra + `"stepKey":"` + key + `"}`
}

// flowStep compiles a step that is not plain into its states (see the
// section comment); the unit's entry is returned, its other states are
// added to sc.
func (c *compiler) flowStep(sc *scope, key string) *namedState {
	s := c.steps[key]
	var exits []*asl.State
	onFail := c.failed(sc, key)
	if s.OnError == onContinue {
		cont := c.task(payload("continue", key, `"error.$":"$.error",`))
		cont.ResultSelector = json.RawMessage(`{"executionId.$":"$$.Execution.Input.executionId"}`)
		cont.ResultPath = asl.PathOf("$")
		cont.Catch = []*asl.Catcher{catchAll(onFail)}
		onFail = "Continue " + key
		sc.add(onFail, cont)
		exits = append(exits, cont)
	}

	// The body: a chain of states; first is its entry, last its exit
	// unless exit is set.
	var body []*namedState
	var exit *asl.State
	var gate *namedState // the Task whose result the Choice reads
	runFlag := "$.check.run"
	switch s.Type {
	case typeWait:
		sched := c.task(payload("wait", key, ""))
		sched.ResultSelector = json.RawMessage(`{"until.$":"$.Payload.until"}`)
		sched.ResultPath = asl.PathOf("$.wait")
		sched.Catch = []*asl.Catcher{catchAll(onFail)}
		resume := c.task(payload("resume", key, ""))
		resume.Catch = []*asl.Catcher{catchAll(onFail)}
		body = []*namedState{
			{name: "Schedule " + key, state: sched},
			{name: "Wait " + key, state: &asl.State{Type: asl.TypeWait, TimestampPath: "$.wait.until"}},
			{name: "Resume " + key, state: resume},
		}
	case typeApproval:
		st := c.task(payload("approval", key, `"taskToken.$":"$$.Task.Token",`))
		st.Resource = LambdaInvokeWaitResource
		if s.TimeoutSeconds > 0 {
			st.TimeoutSeconds = ptr(s.TimeoutSeconds)
			timedOut := "Timed out " + key
			sc.add(timedOut, &asl.State{
				Type:       asl.TypePass,
				Result:     mustJSON(map[string]string{"Error": "Approval.TimedOut", "Cause": fmt.Sprintf("no decision within %d seconds", s.TimeoutSeconds)}),
				ResultPath: asl.PathOf("$.error"),
				Next:       onFail,
			})
			st.Catch = append(st.Catch, &asl.Catcher{ErrorEquals: []string{"States.Timeout"}, ResultPath: asl.PathOf("$.error"), Next: timedOut})
		}
		st.Catch = append(st.Catch, catchAll(onFail))
		body = []*namedState{{name: "Approval " + key, state: st}}
	case typeWorkflow:
		start := c.task(payload("child", key, ""))
		start.ResultSelector = json.RawMessage(`{"executionId.$":"$.Payload.executionId","stateMachineArn.$":"$.Payload.stateMachineArn"}`)
		start.ResultPath = asl.PathOf("$.child")
		start.Catch = []*asl.Catcher{catchAll(onFail)}
		child := &asl.State{
			Type:       asl.TypeTask,
			Resource:   StartExecutionSyncResource,
			Parameters: json.RawMessage(`{"Input":{"executionId.$":"$.child.executionId"},"Name.$":"$.child.executionId","StateMachineArn.$":"$.child.stateMachineArn"}`),
			ResultPath: asl.NullPath(),
			Catch:      []*asl.Catcher{catchAll(onFail)},
		}
		if s.TimeoutSeconds > 0 {
			child.TimeoutSeconds = ptr(s.TimeoutSeconds)
		}
		collect := c.task(payload("collect", key, ""))
		collect.Catch = []*asl.Catcher{catchAll(onFail)}
		body = []*namedState{{name: "Start " + key, state: start}, {name: "Child " + key, state: child}, {name: "Collect " + key, state: collect}}
	default:
		if s.Turns && s.ForEach == "" {
			var entry *namedState
			entry, exit = c.turnLoop(sc, key, s, onFail)
			body = []*namedState{entry}
			break
		}
		if s.ForEach == "" {
			st := c.task(payload("step", key, ""))
			c.stepSettings(st, s)
			st.Catch = []*asl.Catcher{catchAll(onFail)}
			body = []*namedState{{name: "Step " + key, state: st}}
			break
		}
		items := c.task(payload("items", key, ""))
		items.ResultSelector = json.RawMessage(`{"items.$":"$.Payload.items","run.$":"$.Payload.run"}`)
		items.ResultPath = asl.PathOf("$.forEach")
		items.Catch = []*asl.Catcher{catchAll(onFail)}
		gate = &namedState{name: "Items " + key, state: items}
		runFlag = "$.forEach.run"
		item := c.task(payload("item", key, `"index.$":"$.index",`))
		c.stepSettings(item, s)
		item.End = true
		maxConc := s.MaxConcurrency
		if maxConc <= 0 {
			maxConc = DefaultMaxConcurrency
		}
		m := &asl.State{
			Type:         asl.TypeMap,
			ItemsPath:    "$.forEach.items",
			ItemSelector: json.RawMessage(`{"executionId.$":"$.executionId","index.$":"$$.Map.Item.Value"}`),
			ItemProcessor: &asl.ItemProcessor{
				ProcessorConfig: &asl.ProcessorConfig{Mode: "INLINE"},
				StartAt:         "Item " + key,
				States:          map[string]*asl.State{"Item " + key: item},
			},
			MaxConcurrency: ptr(maxConc),
			ResultSelector: json.RawMessage(`{"count.$":"States.ArrayLength($)"}`),
			ResultPath:     asl.PathOf("$.forEach"),
			Catch:          []*asl.Catcher{catchAll(onFail)},
		}
		collect := c.task(payload("collect", key, ""))
		collect.Catch = []*asl.Catcher{catchAll(onFail)}
		body = []*namedState{{name: "Map " + key, state: m}, {name: "Collect " + key, state: collect}}
		if !c.gated(key) {
			body = append([]*namedState{gate}, body...)
			gate = nil
		}
	}
	for i := 0; i+1 < len(body); i++ {
		body[i].state.Next = body[i+1].name
	}
	if exit == nil {
		exit = body[len(body)-1].state
	}
	exits = append(exits, exit)
	entry := body[0]

	if c.gated(key) {
		if gate == nil {
			check := c.task(payload("check", key, ""))
			check.ResultSelector = json.RawMessage(`{"run.$":"$.Payload.run"}`)
			check.ResultPath = asl.PathOf("$.check")
			check.Catch = []*asl.Catcher{catchAll(onFail)}
			gate = &namedState{name: "Check " + key, state: check}
		}
		skip := &asl.State{Type: asl.TypePass}
		sc.add("Skip "+key, skip)
		exits = append(exits, skip)
		when := "When " + key
		gate.state.Next = when
		sc.add(when, &asl.State{
			Type:    asl.TypeChoice,
			Choices: []*asl.ChoiceRule{{Variable: runFlag, BooleanEquals: ptr(true), Next: entry.name}},
			Default: "Skip " + key,
		})
		entry, gate = gate, nil
	}
	// Every body state but the entry goes into the scope here; chain adds
	// the entry.
	for _, ns := range body {
		if ns.name != entry.name {
			sc.add(ns.name, ns.state)
		}
	}
	return &namedState{name: entry.name, state: entry.state, exits: exits}
}
