package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/runtime/sfnapi"
	"github.com/turbocat/turbocat/internal/sfn"
	"github.com/turbocat/turbocat/internal/turbocat"
)

type flowStep struct {
	StepKey          string          `json:"stepKey"`
	Status           string          `json:"status"`
	Attempt          int             `json:"attempt"`
	Input            json.RawMessage `json:"input"`
	Output           json.RawMessage `json:"output"`
	Error            json.RawMessage `json:"error"`
	WakeAt           *time.Time      `json:"wakeAt"`
	ChildExecutionID *string         `json:"childExecutionId"`
	Index            *int            `json:"index"`
	Iterations       []flowStep      `json:"iterations"`
}

type flowRun struct {
	ID                string          `json:"id"`
	Status            string          `json:"status"`
	Trigger           string          `json:"trigger"`
	OutputData        json.RawMessage `json:"outputData"`
	Error             json.RawMessage `json:"error"`
	ParentExecutionID *string         `json:"parentExecutionId"`
	ParentStepKey     *string         `json:"parentStepKey"`
	Steps             []flowStep      `json:"steps"`
}

func (f *fixture) run(tok, id string) flowRun {
	f.t.Helper()
	r := f.call("GET", "/api/v1/executions/"+id, tok, nil)
	require.Equal(f.t, http.StatusOK, r.Status, "%s", r.Body)
	var run flowRun
	r.data(f.t, &run)
	return run
}

func (run flowRun) step(t *testing.T, key string) flowStep {
	t.Helper()
	for _, s := range run.Steps {
		if s.StepKey == key {
			return s
		}
	}
	require.Failf(t, "no such step", "%s in %+v", key, run.Steps)
	return flowStep{}
}

// awaitRun polls a run until cond holds.
func (f *fixture) awaitRun(tok, id string, what string, cond func(flowRun) bool) flowRun {
	f.t.Helper()
	var last flowRun
	require.Eventually(f.t, func() bool {
		r := f.call("GET", "/api/v1/executions/"+id, tok, nil)
		if r.Status != http.StatusOK {
			return false
		}
		last = flowRun{}
		if json.Unmarshal(r.Env.Data, &last) != nil {
			return false
		}
		return cond(last)
	}, 30*time.Second, 20*time.Millisecond, "run never reached: %s; last %+v\n%s", what, last, f.serverLogs())
	return last
}

func (f *fixture) start(tok, wf string, input any) string {
	f.t.Helper()
	r := f.call("POST", "/api/v1/workflows/"+wf+"/execute", tok, map[string]any{"input": input})
	require.Equal(f.t, http.StatusAccepted, r.Status, "%s", r.Body)
	var a runAnswer
	r.data(f.t, &a)
	return a.ExecutionID
}

func ended(r flowRun) bool {
	switch r.Status {
	case "completed", "failed", "cancelled", "timed_out":
		return true
	}
	return false
}

// TestControlFlowEndToEnd is issue 15's scenario on turbocat dev's engine:
// a skipped conditional step, a for-each over three items, an approval
// (the run waits until it is approved) and a sub-workflow run to
// completed, and the compiled definition holds the matching states.
func TestControlFlowEndToEnd(t *testing.T) {
	t.Parallel()
	controlFlowScenario(t, setupEngine(t, allowLoopback))
}

// TestControlFlowThroughSFNAdapter runs the same scenario with the API
// driving the engine through the sfn adapter (aws-sdk-go-v2) against the
// local runtime's Step Functions endpoint, as it drives AWS: publishing,
// starting, and the approval's SendTaskSuccess all go over the wire.
func TestControlFlowThroughSFNAdapter(t *testing.T) {
	t.Parallel()
	f := setupEngine(t, allowLoopback)
	calls := f.useSFNAdapter(sfn.Options{})
	controlFlowScenario(t, f)
	require.Greater(t, calls(""), int64(3), "the API reached the engine through the endpoint")
}

// useSFNAdapter makes the API drive the engine through the sfn adapter
// (aws-sdk-go-v2, with opts) against the local runtime's Step Functions
// endpoint, as it drives AWS. It returns the count of calls of an
// operation ("" for all).
func (f *fixture) useSFNAdapter(opts sfn.Options) func(op string) int64 {
	creds := sfnapi.Credentials{AccessKeyID: "AKIDFLOWTEST", SecretAccessKey: "flow-test-secret-key"}
	var all atomic.Int64
	var byOp sync.Map // operation → *atomic.Int64
	inner := sfnapi.NewHandler(f.local.Runtime, nil, sfnapi.WithCredentials(creds))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all.Add(1)
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		n, _ := byOp.LoadOrStore(op, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		inner.ServeHTTP(w, r)
	}))
	f.t.Cleanup(srv.Close)
	opts.RoleArn, opts.MaxBackoff = "arn:aws:iam::123456789012:role/turbocat-sfn", 5*time.Millisecond
	f.app.Executions.Engine = sfn.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")}, opts)
	return func(op string) int64 {
		if op == "" {
			return all.Load()
		}
		if n, ok := byOp.Load(op); ok {
			return n.(*atomic.Int64).Load()
		}
		return 0
	}
}

func controlFlowScenario(t *testing.T, f *fixture) {
	tok := f.register("flow").AccessToken
	sent := f.eventSink(tok)
	classify := f.create(tok, "/api/v1/agents", jsAgent("classify", `function main(input) { return { label: "routine", n: input.docs.length }; }`))
	summarize := f.create(tok, "/api/v1/agents", jsAgent("summarize", `function main(input) { return { summary: input.doc.toUpperCase(), at: input.i }; }`))
	urgent := f.create(tok, "/api/v1/agents", jsAgent("urgent", `function main(input) { throw new Error("must not run"); }`))
	shout := f.create(tok, "/api/v1/agents", jsAgent("shout", `function main(input) { return { text: input.text + "!" }; }`))
	post := f.create(tok, "/api/v1/agents", jsAgent("post", `function main(input) { return { posted: input.text, urgent: input.urgent, approvedBy: input.by }; }`))

	child := f.create(tok, "/api/v1/workflows", map[string]any{
		"name":   "enrich",
		"output": map[string]any{"text": "{{steps.shout.output.text}}"},
		"steps":  []map[string]any{{"key": "shout", "agentId": shout, "inputs": map[string]any{"text": "{{inputs.text}}"}}},
	})
	wf := f.create(tok, "/api/v1/workflows", map[string]any{
		"name":   "everything",
		"output": map[string]any{"posted": "{{steps.post.output.posted}}", "summaries": "{{steps.summarize.output}}"},
		"steps": []map[string]any{
			{"key": "classify", "agentId": classify, "inputs": map[string]any{"docs": "{{inputs.docs}}"}},
			{"key": "urgent", "agentId": urgent, "dependsOn": []string{"classify"}, "when": `steps.classify.output.label == "urgent"`},
			{"key": "summarize", "agentId": summarize, "dependsOn": []string{"classify"}, "forEach": "{{inputs.docs}}", "maxConcurrency": 2,
				"inputs": map[string]any{"doc": "{{item}}", "i": "{{index}}"}},
			{"key": "review", "type": "approval", "dependsOn": []string{"urgent", "summarize"}, "timeoutSeconds": 600},
			{"key": "enrich", "type": "workflow", "workflow": "enrich", "dependsOn": []string{"review"},
				"inputs": map[string]any{"text": "{{steps.summarize.output.0.summary}}"}},
			{"key": "post", "agentId": post, "dependsOn": []string{"enrich", "urgent", "review"},
				"inputs": map[string]any{"text": "{{steps.enrich.output.text}}", "urgent": "{{steps.urgent.output.flag}}", "by": "{{steps.review.output.by}}"}},
		},
	})

	// The compiled definition shows each construct.
	r := f.call("GET", "/api/v1/workflows/"+wf+"/definition", tok, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	def := string(r.Env.Data)
	for _, want := range []string{`"Type":"Choice"`, `"Type":"Map"`, `"MaxConcurrency":2`, `lambda:invoke.waitForTaskToken`,
		`states:startExecution.sync:2`, `"When urgent"`, `"Map summarize"`, `"Approval review"`, `"Child enrich"`} {
		require.Contains(t, strings.ReplaceAll(def, " ", ""), strings.ReplaceAll(want, " ", ""))
	}
	require.Equal(t, http.StatusBadRequest, f.call("GET", "/api/v1/workflows/"+wf+"/definition?version=x", tok, nil).Status)
	require.Equal(t, http.StatusNotFound, f.call("GET", "/api/v1/workflows/"+wf+"/definition?version=9", tok, nil).Status)

	id := f.start(tok, wf, map[string]any{"docs": []string{"alpha", "beta", "gamma"}})
	run := f.awaitRun(tok, id, "waiting at the approval", func(r flowRun) bool { return r.Status == "waiting" || ended(r) })
	require.Equal(t, "waiting", run.Status, "%+v", run)
	rv := run.step(t, "review")
	require.Equal(t, "waiting", rv.Status)
	require.NotNil(t, rv.WakeAt, "an approval with timeoutSeconds shows when it times out")
	require.WithinDuration(t, time.Now().Add(600*time.Second), *rv.WakeAt, time.Minute)

	skipped := run.step(t, "urgent")
	require.Equal(t, "skipped", skipped.Status, "a false condition skips the step: its agent (which throws) never runs")
	require.Equal(t, "null", string(orNull(skipped.Output)))
	sum := run.step(t, "summarize")
	require.Equal(t, "completed", sum.Status)
	require.JSONEq(t, `[{"summary":"ALPHA","at":0},{"summary":"BETA","at":1},{"summary":"GAMMA","at":2}]`, string(sum.Output))
	require.Len(t, sum.Iterations, 3, "each item is recorded")
	for i, it := range sum.Iterations {
		require.Equal(t, "completed", it.Status)
		require.Equal(t, i, *it.Index)
		require.Equal(t, 1, it.Attempt)
	}
	require.JSONEq(t, `{"doc":"beta","i":1}`, string(sum.Iterations[1].Input))

	// Waiting runs are listed with the waiting filter.
	lr := f.call("GET", "/api/v1/executions?status=waiting", tok, nil)
	require.Equal(t, http.StatusOK, lr.Status)
	require.Contains(t, string(lr.Body), id)

	// Another user cannot decide it; a decision on a step that does not wait is a 409.
	other := f.register("other").AccessToken
	require.Equal(t, http.StatusNotFound, f.call("POST", "/api/v1/executions/"+id+"/steps/review/approve", other, nil).Status)
	require.Equal(t, http.StatusConflict, f.call("POST", "/api/v1/executions/"+id+"/steps/classify/approve", tok, nil).Status)
	readOnly := f.apiKey(tok, "executions:read")
	require.Equal(t, http.StatusForbidden, f.call("POST", "/api/v1/executions/"+id+"/steps/review/approve", readOnly.Key, nil).Status)

	ar := f.call("POST", "/api/v1/executions/"+id+"/steps/review/approve", tok, map[string]any{"comment": "ship it"})
	require.Equal(t, http.StatusOK, ar.Status, "%s", ar.Body)
	var decided flowStep
	ar.data(t, &decided)
	require.Equal(t, "completed", decided.Status)
	var out struct {
		Approved bool
		Comment  string
		By       string
	}
	require.NoError(t, json.Unmarshal(decided.Output, &out))
	require.True(t, out.Approved)
	require.Equal(t, "ship it", out.Comment)
	require.Contains(t, out.By, "@example.com")
	require.Equal(t, http.StatusConflict, f.call("POST", "/api/v1/executions/"+id+"/steps/review/approve", tok, nil).Status, "decided once")

	run = f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "completed", run.Status, "%s %s", run.Error, f.serverLogs())
	require.JSONEq(t, `{"posted":"ALPHA!","summaries":[{"summary":"ALPHA","at":0},{"summary":"BETA","at":1},{"summary":"GAMMA","at":2}]}`, string(run.OutputData))
	var posted struct {
		Posted     string
		Urgent     any
		ApprovedBy string
	}
	require.NoError(t, json.Unmarshal(run.step(t, "post").Output, &posted))
	require.Nil(t, posted.Urgent, "a skipped step's output reads as null downstream")
	require.Equal(t, out.By, posted.ApprovedBy)

	// The child run is linked both ways.
	en := run.step(t, "enrich")
	require.Equal(t, "completed", en.Status)
	require.NotNil(t, en.ChildExecutionID)
	require.JSONEq(t, `{"text":"ALPHA!"}`, string(en.Output))
	kid := f.run(tok, *en.ChildExecutionID)
	require.Equal(t, "completed", kid.Status)
	require.Equal(t, "workflow", kid.Trigger)
	require.Equal(t, id, *kid.ParentExecutionID)
	require.Equal(t, "enrich", *kid.ParentStepKey)
	_ = child

	// The decision is audited; the waiting step announced itself.
	require.Equal(t, 1, f.count("audit_logs", "action = 'execution.step.approve' AND resource_id = $1", id))
	require.Eventually(t, func() bool { return len(waiting(sent(), id)) == 1 }, 10*time.Second, 20*time.Millisecond,
		"the webhook received one step.waiting event")
	require.Contains(t, waiting(sent(), id)[0].Data.ApproveURL, "/api/v1/approvals/")
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// linkPath returns the path of the approve or reject link of a run's
// waiting approval, from its step.waiting event.
func (f *fixture) linkPath(sent func() []sentEvent, id, which string) string {
	f.t.Helper()
	var link string
	require.Eventually(f.t, func() bool {
		evs := waiting(sent(), id)
		if len(evs) == 0 {
			return false
		}
		last := evs[len(evs)-1]
		link = map[string]string{"approveUrl": last.Data.ApproveURL, "rejectUrl": last.Data.RejectURL}[which]
		return link != ""
	}, 10*time.Second, 20*time.Millisecond, "the webhook received the step.waiting event")
	u, err := url.Parse(link)
	require.NoError(f.t, err)
	return u.Path
}

// waiting is the step.waiting events of run id among evs.
func waiting(evs []sentEvent, id string) []sentEvent {
	var out []sentEvent
	for _, e := range evs {
		if e.Type == turbocat.EventStepWaiting && e.Data.ExecutionID == id {
			out = append(out, e)
		}
	}
	return out
}

// TestApprovalRejectLinksAndTimeout: a rejection fails the run with
// Approval.Rejected; a signed link decides without a login, once; an
// approval nobody decides fails with Approval.TimedOut.
func TestApprovalRejectLinksAndTimeout(t *testing.T) {
	t.Parallel()
	f := setupEngine(t, allowLoopback)
	tok := f.register("approver").AccessToken
	sent := f.eventSink(tok)
	agent := f.create(tok, "/api/v1/agents", jsAgent("noop", `function main(input) { return { ok: true }; }`))
	mk := func(name string, timeout int) string {
		step := map[string]any{"key": "review", "type": "approval", "dependsOn": []string{"draft"}}
		if timeout > 0 {
			step["timeoutSeconds"] = timeout
		}
		return f.create(tok, "/api/v1/workflows", map[string]any{"name": name, "steps": []map[string]any{
			{"key": "draft", "agentId": agent}, step, {"key": "send", "agentId": agent, "dependsOn": []string{"review"}}}})
	}
	wf := mk("review", 0)

	// Rejected through the API.
	id := f.start(tok, wf, map[string]any{})
	f.awaitRun(tok, id, "waiting", func(r flowRun) bool { return r.Status == "waiting" })
	r := f.call("POST", "/api/v1/executions/"+id+"/steps/review/reject", tok, map[string]any{"comment": "not yet"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	run := f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "failed", run.Status)
	require.Contains(t, string(run.Error), "Approval.Rejected")
	require.Contains(t, string(run.Error), "not yet")
	rv := run.step(t, "review")
	require.Equal(t, "failed", rv.Status)
	require.JSONEq(t, `false`, string(mustField(t, rv.Output, "approved")))
	for _, st := range run.Steps {
		require.NotEqual(t, "send", st.StepKey, "the step after a rejection never starts")
	}

	// Approved through a signed link, without a login; the link works once.
	id = f.start(tok, wf, map[string]any{})
	f.awaitRun(tok, id, "waiting", func(r flowRun) bool { return r.Status == "waiting" })
	approve, reject := f.linkPath(sent, id, "approveUrl"), f.linkPath(sent, id, "rejectUrl")
	g := f.call("GET", approve, "", nil)
	require.Equal(t, http.StatusOK, g.Status, "%s", g.Body)
	require.Contains(t, string(g.Env.Data), `"approve":true`)
	require.Contains(t, string(g.Env.Data), `"status":"waiting"`)
	require.Equal(t, "waiting", f.run(tok, id).Status, "opening a link decides nothing")
	require.Equal(t, http.StatusNotFound, f.call("POST", approve+"x", "", nil).Status, "a tampered link is unknown")
	p := f.call("POST", approve, "", map[string]any{"comment": "from my phone"})
	require.Equal(t, http.StatusOK, p.Status, "%s", p.Body)
	require.Equal(t, http.StatusConflict, f.call("POST", approve, "", nil).Status, "a link works once")
	require.Equal(t, http.StatusConflict, f.call("POST", reject, "", nil).Status, "the other link of a decided step no longer works")
	run = f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "completed", run.Status, "%s", run.Error)
	require.Contains(t, string(run.step(t, "review").Output), `"by":"signed link"`)
	require.Equal(t, 1, f.count("audit_logs", "action = 'execution.step.approve' AND resource_id = $1 AND metadata->>'via' = 'link'", id))

	// Nobody decides: Approval.TimedOut.
	timed := mk("timeout", 1)
	id = f.start(tok, timed, map[string]any{})
	run = f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "failed", run.Status)
	require.Contains(t, string(run.Error), "Approval.TimedOut")
	require.Equal(t, "failed", run.step(t, "review").Status)
	require.Contains(t, string(run.step(t, "review").Error), "Approval.TimedOut")
}

func mustField(t *testing.T, raw json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m), "%s", raw)
	return m[key]
}

// TestWaitCancelAndContinue: a wait step shows waiting with its wake-up
// time and goes on; cancel ends a wait; onError continue records the step
// failed and a fallback branch runs on its status.
func TestWaitCancelAndContinue(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("waiter").AccessToken
	ok := f.create(tok, "/api/v1/agents", jsAgent("ok", `function main(input) { return { value: input.v || "primary" }; }`))
	boom := f.create(tok, "/api/v1/agents", jsAgent("boom", `function main(input) { throw new Error("upstream is down"); }`))

	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "pause", "steps": []map[string]any{
		{"key": "a", "agentId": ok}, {"key": "pause", "type": "wait", "seconds": 1, "dependsOn": []string{"a"}},
		{"key": "b", "agentId": ok, "dependsOn": []string{"pause"}}}})
	id := f.start(tok, wf, map[string]any{})
	run := f.awaitRun(tok, id, "waiting", func(r flowRun) bool { return r.Status == "waiting" || ended(r) })
	require.Equal(t, "waiting", run.Status)
	require.NotNil(t, run.step(t, "pause").WakeAt)
	run = f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "completed", run.Status, "%s", run.Error)
	require.Equal(t, "completed", run.step(t, "pause").Status)

	long := f.create(tok, "/api/v1/workflows", map[string]any{"name": "long", "steps": []map[string]any{
		{"key": "pause", "type": "wait", "until": "{{inputs.when}}"}, {"key": "b", "agentId": ok, "dependsOn": []string{"pause"}}}})
	id = f.start(tok, long, map[string]any{"when": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	run = f.awaitRun(tok, id, "waiting", func(r flowRun) bool { return r.Status == "waiting" || ended(r) })
	require.WithinDuration(t, time.Now().Add(time.Hour), *run.step(t, "pause").WakeAt, time.Minute)
	c := f.call("POST", "/api/v1/executions/"+id+"/cancel", tok, nil)
	require.Equal(t, http.StatusOK, c.Status, "%s", c.Body)
	run = f.run(tok, id)
	require.Equal(t, "cancelled", run.Status)
	require.Equal(t, "cancelled", run.step(t, "pause").Status, "cancel ends the wait")

	fb := f.create(tok, "/api/v1/workflows", map[string]any{"name": "fallback", "output": map[string]any{
		"value": "{{steps.use.output.value}}"}, "steps": []map[string]any{
		{"key": "fetch", "agentId": boom, "onError": "continue"},
		{"key": "fallback", "agentId": ok, "dependsOn": []string{"fetch"}, "when": `steps.fetch.status == "failed"`, "inputs": map[string]any{"v": "cached"}},
		{"key": "use", "agentId": ok, "dependsOn": []string{"fetch", "fallback"}, "inputs": map[string]any{"v": "{{steps.fallback.output.value}}"}}}})
	id = f.start(tok, fb, map[string]any{})
	run = f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "completed", run.Status, "%s", run.Error)
	require.Equal(t, "failed", run.step(t, "fetch").Status)
	require.Contains(t, string(run.step(t, "fetch").Error), "upstream is down")
	require.Equal(t, "completed", run.step(t, "fallback").Status)
	require.JSONEq(t, `{"value":"cached"}`, string(run.OutputData))
}

// TestForEachRetryReusesCompletedItems: an item that fails fails the step
// (and the run) naming the item; a retry of the run runs only the failed
// item again. A list past the inline limit fails the step saying so.
func TestForEachRetryReusesCompletedItems(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("each").AccessToken
	// One item at a time, the bad one last: the others have completed when
	// its failure ends the run, however loaded the machine (a failing item
	// cancels the items still running, which a retry would run again).
	each := f.create(tok, "/api/v1/agents", jsAgent("each", `function main(input) {
		if (input.doc === "bad") { throw new Error("cannot read " + input.doc); }
		console.log("did " + input.doc); return { n: input.doc.length }; }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "each", "steps": []map[string]any{
		{"key": "read", "agentId": each, "forEach": "{{inputs.docs}}", "maxConcurrency": 1, "inputs": map[string]any{"doc": "{{item}}"}}}})
	id := f.start(tok, wf, map[string]any{"docs": []string{"one", "three", "bad"}})
	run := f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "failed", run.Status)
	require.Contains(t, string(run.Error), "item 2: Error: cannot read bad")
	st := run.step(t, "read")
	require.Equal(t, "failed", st.Status)
	require.Equal(t, "failed", st.Iterations[2].Status)

	r := f.call("POST", "/api/v1/executions/"+id+"/retry", tok, nil)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var a runAnswer
	r.data(t, &a)
	again := f.awaitRun(tok, a.ExecutionID, "ended", ended)
	require.Equal(t, "failed", again.Status)
	reused := f.count("execution_steps", "execution_id = $1 AND parent_key = 'read' AND reused_from IS NOT NULL", a.ExecutionID)
	require.Equal(t, 2, reused, "the completed items are reused, not run again")
	require.Equal(t, 2, f.count("execution_logs", "execution_id = $1 AND message LIKE 'did %'", id))
	require.Equal(t, 0, f.count("execution_logs", "execution_id = $1 AND message LIKE 'did %'", a.ExecutionID), "no completed item ran again")

	big := make([]int, 1001)
	id = f.start(tok, wf, map[string]any{"docs": big})
	run = f.awaitRun(tok, id, "ended", ended)
	require.Equal(t, "failed", run.Status)
	require.Contains(t, string(run.Error), "1001 items; a step runs at most 1000 inline")
}

// TestControlFlowValidation: each construct's mistakes are field errors.
func TestControlFlowValidation(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("validator").AccessToken
	agent := f.create(tok, "/api/v1/agents", jsAgent("a", `function main(i) { return i; }`))
	bad := func(steps []map[string]any, want ...string) {
		t.Helper()
		r := f.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "bad", "steps": steps})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		got := strings.Join(r.fields(), "\n")
		for _, w := range want {
			require.Contains(t, got, w)
		}
	}
	bad([]map[string]any{{"key": "a", "agentId": agent, "when": "steps.b.output.x == 1"}, {"key": "b", "agentId": agent}},
		`steps[0].when: references step "b", which is not upstream of "a"; add it to dependsOn`)
	bad([]map[string]any{{"key": "a", "agentId": agent, "when": "1 + 1"}}, "steps[0].when: the condition must be a boolean expression")
	bad([]map[string]any{{"key": "a", "agentId": agent, "when": "nope.x"}}, "steps[0].when: invalid CEL")
	bad([]map[string]any{{"key": "a", "agentId": agent, "forEach": "docs"}}, "steps[0].forEach: must be one template that gives a list")
	bad([]map[string]any{{"key": "a", "agentId": agent, "inputs": map[string]any{"x": "{{item}}"}}}, "only available in the inputs of a forEach step")
	bad([]map[string]any{{"key": "a", "agentId": agent, "forEach": "{{inputs.d}}", "maxConcurrency": 5000}}, "steps[0].maxConcurrency: must be 1 to 1000")
	bad([]map[string]any{{"key": "w", "type": "wait"}}, "steps[0]: a wait step needs seconds or until")
	bad([]map[string]any{{"key": "w", "type": "wait", "seconds": 5, "agentId": agent}}, "steps[0].agentId: a wait step runs no agent")
	bad([]map[string]any{{"key": "w", "type": "approval", "retry": map[string]any{"maxAttempts": 1, "intervalSeconds": 1, "backoffRate": 2}}}, "steps[0].retry: a approval step is not retried")
	bad([]map[string]any{{"key": "w", "type": "teleport"}}, "steps[0].type: must be agent, wait, approval or workflow")
	bad([]map[string]any{{"key": "w", "type": "workflow"}}, "steps[0].workflow: is required")
	bad([]map[string]any{{"key": "w", "type": "workflow", "workflow": "missing"}}, `no workflow "missing"`)
	bad([]map[string]any{{"key": "a", "agentId": agent, "onError": "ignore"}}, "steps[0].onError: must be fail")

	// Workflows that call each other in a loop are refused at save.
	leaf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "leaf", "steps": []map[string]any{{"key": "a", "agentId": agent}}})
	mid := f.create(tok, "/api/v1/workflows", map[string]any{"name": "mid", "steps": []map[string]any{{"key": "call", "type": "workflow", "workflow": "leaf"}}})
	_ = mid
	r := f.call("PUT", "/api/v1/workflows/"+leaf, tok, map[string]any{"name": "leaf", "steps": []map[string]any{{"key": "back", "type": "workflow", "workflow": "mid"}}})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	require.Contains(t, strings.Join(r.fields(), "\n"), "steps[0].workflow: workflow cycle: leaf → mid → leaf")
	r = f.call("POST", "/api/v1/workflows", tok, map[string]any{"name": "self", "steps": []map[string]any{{"key": "me", "type": "workflow", "workflow": "self"}}})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Contains(t, strings.Join(r.fields(), "\n"), "workflow cycle: self calls itself")
}

// TestCancelEndsChildRuns: cancelling a run cancels the child run its
// workflow step waits on (and the child's own wait).
func TestCancelEndsChildRuns(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("parent").AccessToken
	agent := f.create(tok, "/api/v1/agents", jsAgent("noop", `function main(input) { return { ok: true }; }`))
	f.create(tok, "/api/v1/workflows", map[string]any{"name": "slow-child", "steps": []map[string]any{
		{"key": "hold", "type": "wait", "seconds": 3600}, {"key": "after", "agentId": agent, "dependsOn": []string{"hold"}}}})
	parent := f.create(tok, "/api/v1/workflows", map[string]any{"name": "parent", "steps": []map[string]any{
		{"key": "call", "type": "workflow", "workflow": "slow-child"}}})
	id := f.start(tok, parent, map[string]any{})
	var childID string
	f.awaitRun(tok, id, "a child run that waits", func(r flowRun) bool {
		for _, s := range r.Steps {
			if s.StepKey == "call" && s.ChildExecutionID != nil {
				childID = *s.ChildExecutionID
			}
		}
		return childID != "" && f.run(tok, childID).Status == "waiting"
	})
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/executions/"+id+"/cancel", tok, nil).Status)
	require.Equal(t, "cancelled", f.run(tok, id).Status)
	kid := f.run(tok, childID)
	require.Equal(t, "cancelled", kid.Status, "the child run ends with its parent")
	require.Equal(t, "cancelled", kid.step(t, "hold").Status)
}

// TestRetryReusesApproval: retrying a run that failed after an approval
// was given does not ask again: the approval is reused, not repeated.
func TestRetryReusesApproval(t *testing.T) {
	t.Parallel()
	f := setupEngine(t)
	tok := f.register("again").AccessToken
	boom := f.create(tok, "/api/v1/agents", jsAgent("boom", `function main(input) { throw new Error("send failed"); }`))
	wf := f.create(tok, "/api/v1/workflows", map[string]any{"name": "approve-then-send", "steps": []map[string]any{
		{"key": "review", "type": "approval"}, {"key": "send", "agentId": boom, "dependsOn": []string{"review"}}}})
	id := f.start(tok, wf, map[string]any{})
	f.awaitRun(tok, id, "waiting", func(r flowRun) bool { return r.Status == "waiting" })
	require.Equal(t, http.StatusOK, f.call("POST", "/api/v1/executions/"+id+"/steps/review/approve", tok, nil).Status)
	require.Equal(t, "failed", f.awaitRun(tok, id, "ended", ended).Status)

	r := f.call("POST", "/api/v1/executions/"+id+"/retry", tok, nil)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	var a runAnswer
	r.data(t, &a)
	run := f.awaitRun(tok, a.ExecutionID, "ended", func(r flowRun) bool { return ended(r) || r.Status == "waiting" })
	require.Equal(t, "failed", run.Status, "the retry does not wait for a second approval")
	require.Equal(t, "completed", run.step(t, "review").Status)
	require.Equal(t, 1, f.count("execution_steps", "execution_id = $1 AND step_key = 'review' AND reused_from IS NOT NULL", a.ExecutionID))
	require.Contains(t, string(run.Error), "send failed")
}
