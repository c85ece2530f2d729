package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/compiler"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// flow returns the control-flow store (the execution store implements it).
func (s *Executions) flow() (turbocat.FlowStore, error) {
	f, ok := s.Store.(turbocat.FlowStore)
	if !ok {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "control flow is not supported by this store")
	}
	return f, nil
}

// StartChild implements the step runner's ChildStarter: it records the
// child run of a workflow step (trigger workflow, linked to its parent,
// never queued: a parent waiting on a queued child could wait forever),
// publishes the child workflow's current version and records the run as
// started on it. The idempotency key <parentId>:<stepKey>:<attempt> makes a
// repeated call return the same child.
func (s *Executions) StartChild(ctx context.Context, parent *turbocat.Execution, step *turbocat.WorkflowStep, attempt int, input json.RawMessage) (string, string, error) {
	if _, err := s.engine(); err != nil {
		return "", "", err // this process cannot publish the child's workflow
	}
	r, ok := s.Workflows.(WorkflowResolver)
	if !ok {
		return "", "", turbocat.Errorf(turbocat.EUNAVAILABLE, "workflows cannot be looked up by name here")
	}
	w, err := resolveWorkflow(ctx, r, parent.UserID, step.Workflow)
	if err != nil {
		return "", "", err
	}
	if len(input) == 0 || string(input) == "null" {
		input = json.RawMessage(`{}`)
	}
	if err := validateInput(w.InputSchema, input); err != nil {
		return "", "", err
	}
	key := fmt.Sprintf("%s:%s:%d", parent.ID, step.Key, attempt)
	parentID, stepKey := parent.ID, step.Key
	e, _, err := s.Store.CreateExecution(ctx, turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: w.Version, UserID: parent.UserID,
		Trigger: turbocat.TriggerWorkflow, Input: input, IdempotencyKey: &key, ParentExecutionID: &parentID, ParentStepKey: &stepKey})
	if err != nil {
		return "", "", err
	}
	if e.WorkflowVersion != w.Version {
		// Recorded by an earlier attempt of this call on another version.
		if w, err = s.Workflows.WorkflowVersion(ctx, parent.UserID, w.ID, e.WorkflowVersion); err != nil {
			return "", "", err
		}
	}
	ref, err := s.Publish(ctx, w)
	if err != nil {
		return "", "", err
	}
	if e.Status == turbocat.ExecutionPending {
		arn, ok := executionArn(ref, e.ID)
		if !ok {
			return "", "", fmt.Errorf("start child %s: %q is not a state machine ARN", e.ID, ref)
		}
		if _, err := s.Store.MarkStarted(ctx, e.ID, arn, startedEvent(e)); err != nil {
			return "", "", err
		}
	}
	s.Metrics.ExecutionStarted(turbocat.TriggerWorkflow)
	return e.ID, ref, nil
}

// MaxRunNesting bounds how deep runs started by workflow tools nest: a
// workflow whose llm agent calls the same workflow as a tool would
// otherwise start runs forever.
const MaxRunNesting = 5

// checkToolNesting refuses a workflow tool's run under a parent that is
// already MaxRunNesting runs deep.
func (s *Executions) checkToolNesting(ctx context.Context, parent *turbocat.Execution) error {
	e := parent
	for depth := 1; e.ParentExecutionID != nil; depth++ {
		if depth >= MaxRunNesting {
			return turbocat.Errorf(turbocat.ECONFLICT, "runs nest %d deep: does a workflow's llm agent call that same workflow as a tool?", MaxRunNesting)
		}
		next, err := s.Store.ExecutionByID(ctx, *e.ParentExecutionID)
		if err != nil {
			return err
		}
		e = next
	}
	return nil
}

// ResolveWorkflow finds one of the user's workflows by id or name
// (ENOTFOUND when there is none).
func (s *Executions) ResolveWorkflow(ctx context.Context, userID, ref string) (*turbocat.Workflow, error) {
	r, ok := s.Workflows.(WorkflowResolver)
	if !ok {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "workflows cannot be looked up by name here")
	}
	return resolveWorkflow(ctx, r, userID, ref)
}

// RunWorkflowTool runs one of the user's workflows (a name or an id) as a
// tool call of an llm step and waits, within ctx, for the run to end. The
// run is a child of parent when there is one (it shows under the parent and
// is cancelled with it), and key (the tool call's idempotency key) makes a
// repeated call return the same run instead of starting another. The input
// must match the workflow's inputSchema (EINVALID naming the field).
func (s *Executions) RunWorkflowTool(ctx context.Context, userID string, parent *turbocat.Execution, stepKey, workflow, key string, input json.RawMessage) (*turbocat.Execution, error) {
	w, err := s.ResolveWorkflow(ctx, userID, workflow)
	if err != nil {
		return nil, err
	}
	if len(input) == 0 || string(input) == "null" {
		input = json.RawMessage(`{}`)
	}
	if err := validateInput(w.InputSchema, input); err != nil {
		return nil, err
	}
	ne := turbocat.NewExecution{WorkflowID: w.ID, WorkflowVersion: w.Version, UserID: userID, Trigger: turbocat.TriggerWorkflow, Input: input}
	if key != "" {
		ne.IdempotencyKey = &key
	}
	if parent != nil {
		if err := s.checkToolNesting(ctx, parent); err != nil {
			return nil, err
		}
		parentID := parent.ID
		ne.ParentExecutionID, ne.ParentStepKey = &parentID, &stepKey
	}
	e, err := s.start(ctx, w, ne, "")
	if err != nil {
		return nil, err
	}
	return s.WaitFor(ctx, &turbocat.Actor{UserID: userID}, e)
}

// executionArn derives the ARN of execution name started on a machine,
// version or alias ARN.
func executionArn(target, name string) (string, bool) {
	parts := strings.Split(target, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
		return "", false
	}
	return strings.Join(parts[:5], ":") + ":execution:" + parts[6] + ":" + name, true
}

// cancelChildren cancels the live child runs of a run (and theirs).
func (s *Executions) cancelChildren(ctx context.Context, userID, id string) {
	f, err := s.flow()
	if err != nil {
		return
	}
	kids, err := f.ChildExecutions(ctx, id)
	if err != nil {
		s.logger().Warn("cancel child runs", "execution_id", id, "error", err.Error())
		return
	}
	for _, k := range kids {
		if Finished(k.Status) {
			continue
		}
		if _, err := s.Cancel(ctx, &turbocat.Actor{UserID: userID}, k.ID); err != nil && turbocat.ErrorCodeOf(err) != turbocat.ECONFLICT {
			s.logger().Warn("cancel child run", "execution_id", k.ID, "error", err.Error())
		}
	}
}

// DecisionInput is the body of POST /executions/{id}/steps/{key}/approve
// and /reject.
type DecisionInput struct {
	Comment string `json:"comment"`
}

// MaxComment bounds an approval comment.
const MaxComment = 2000

// ErrRejected is the error name of a rejected approval.
const ErrRejected = "Approval.Rejected"

// Decide approves or rejects a waiting approval step of one of the actor's
// runs: the step records {approved, comment, by, at} (and, rejected,
// fails with Approval.Rejected), the engine's waiting Task goes on, and the
// decision is audited. ECONFLICT when the step is not waiting for one.
func (s *Executions) Decide(ctx context.Context, actor *turbocat.Actor, id, stepKey string, approve bool, in DecisionInput) (*turbocat.ExecutionStep, error) {
	e, err := s.Store.Execution(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	by := "user " + actor.UserID
	if actor.APIKeyID != "" {
		by = "API key " + actor.APIKeyID
	}
	if u, ok := s.Workflows.(interface {
		UserByID(ctx context.Context, id string) (*turbocat.User, error)
	}); ok && actor.APIKeyID == "" {
		if user, err := u.UserByID(ctx, actor.UserID); err == nil {
			by = user.Email
		}
	}
	return s.decide(ctx, e, stepKey, "", approve, in.Comment, by, "api")
}

func (s *Executions) decide(ctx context.Context, e *turbocat.Execution, stepKey, nonce string, approve bool, comment, by, via string) (*turbocat.ExecutionStep, error) {
	if utf8.RuneCountInString(comment) > MaxComment {
		return nil, turbocat.ValidationError("invalid decision", turbocat.FieldError{Field: "comment", Message: fmt.Sprintf("must be at most %d characters", MaxComment)})
	}
	engine, err := s.engine()
	if err != nil {
		return nil, err
	}
	f, err := s.flow()
	if err != nil {
		return nil, err
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	out := map[string]any{"approved": approve, "comment": comment, "by": by, "at": at}
	d := turbocat.StepDecision{UserID: e.UserID, ExecutionID: e.ID, StepKey: stepKey, Nonce: nonce, Approved: approve,
		Output: turbocat.RawJSON(out), AuditAction: "execution.step.approve",
		AuditMeta: map[string]any{"stepKey": stepKey, "comment": comment, "via": via}}
	cause := "rejected by " + by
	if comment != "" {
		cause += ": " + comment
	}
	if !approve {
		d.AuditAction = "execution.step.reject"
		d.Error = turbocat.RawJSON(map[string]string{"error": ErrRejected, "cause": cause})
	}
	step, err := f.DecideStep(ctx, d, func(token string) error {
		var err error
		if approve {
			err = engine.SendTaskSuccess(ctx, token, []byte(`{"approved":true}`))
		} else {
			err = engine.SendTaskFailure(ctx, token, ErrRejected, cause)
		}
		if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
			return turbocat.Errorf(turbocat.ECONFLICT, "step %q no longer waits for a decision (it timed out or its run ended)", stepKey)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return step, nil
}

// ApprovalLinks signs and checks the one-time approve and reject links of
// waiting approvals: a link is an HMAC-SHA256-signed token naming the run,
// the step, the decision, the nonce of the current wait and an expiry; it
// works without a login, once (a decided step is no longer waiting, and a
// new wait has a new nonce), until it expires.
type ApprovalLinks struct {
	Key     []byte
	BaseURL string // e.g. https://turbocat.example.com
	Now     func() time.Time
}

type linkClaims struct {
	Execution string `json:"e"`
	Step      string `json:"s"`
	Nonce     string `json:"n"`
	Approve   bool   `json:"a"`
	Expires   int64  `json:"x"`
}

// Sign returns the approve and reject URLs of a waiting approval ("" when
// there is no key to sign them with).
func (l *ApprovalLinks) Sign(executionID, stepKey, nonce string, expires time.Time) (string, string) {
	if l == nil || len(l.Key) == 0 {
		return "", ""
	}
	mk := func(approve bool) string {
		c := linkClaims{Execution: executionID, Step: stepKey, Nonce: nonce, Approve: approve, Expires: expires.Unix()}
		body, _ := json.Marshal(c)
		p := base64.RawURLEncoding.EncodeToString(body)
		return l.BaseURL + "/api/v1/approvals/" + p + "." + base64.RawURLEncoding.EncodeToString(l.mac(p))
	}
	return mk(true), mk(false)
}

func (l *ApprovalLinks) mac(payload string) []byte {
	m := hmac.New(sha256.New, l.Key)
	m.Write([]byte("turbocat approval link\x00" + payload))
	return m.Sum(nil)
}

// verify returns a link token's claims; ENOTFOUND for a token that is not
// one this server signed, EVALIDATION for an expired one.
func (l *ApprovalLinks) verify(token string) (*linkClaims, error) {
	bad := turbocat.Errorf(turbocat.ENOTFOUND, "approval link not found: check that it was copied whole")
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(l.Key) == 0 {
		return nil, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, l.mac(p)) {
		return nil, bad
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, bad
	}
	var c linkClaims
	if json.Unmarshal(body, &c) != nil {
		return nil, bad
	}
	if nowOr(l.Now).Unix() > c.Expires {
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "this approval link expired at %s", time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	return &c, nil
}

// LinkDecision is what an approval link shows before it is used.
type LinkDecision struct {
	ExecutionID string `json:"executionId"`
	StepKey     string `json:"stepKey"`
	Approve     bool   `json:"approve"`
	Status      string `json:"status"`
}

// InspectLink checks an approval link and says what it decides.
func (s *Executions) InspectLink(ctx context.Context, token string) (*LinkDecision, error) {
	if s.Links == nil {
		return nil, turbocat.NotFound("approval link")
	}
	c, err := s.Links.verify(token)
	if err != nil {
		return nil, err
	}
	f, err := s.flow()
	if err != nil {
		return nil, err
	}
	st, err := f.StepRecord(ctx, c.Execution, c.Step)
	if err != nil {
		return nil, err
	}
	return &LinkDecision{ExecutionID: c.Execution, StepKey: c.Step, Approve: c.Approve, Status: st.Status}, nil
}

// DecideByLink applies the decision of a signed approval link, for the
// run's owner, once.
func (s *Executions) DecideByLink(ctx context.Context, token string, in DecisionInput) (*turbocat.ExecutionStep, error) {
	if s.Links == nil {
		return nil, turbocat.NotFound("approval link")
	}
	c, err := s.Links.verify(token)
	if err != nil {
		return nil, err
	}
	e, err := s.Store.ExecutionByID(ctx, c.Execution)
	if err != nil {
		return nil, err
	}
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: e.UserID})
	return s.decide(ctx, e, c.Step, c.Nonce, c.Approve, in.Comment, "signed link", "link")
}

// Definition is a workflow version's compiled state machine.
type Definition struct {
	WorkflowID       string          `json:"workflowId"`
	Version          int             `json:"version"`
	StateMachineName string          `json:"stateMachineName"`
	Definition       json.RawMessage `json:"definition"`
}

// Definition compiles one of the actor's workflows (its current version,
// or version) to the Amazon States Language the engine runs.
func (s *Executions) Definition(ctx context.Context, actor *turbocat.Actor, workflowID string, version int) (*Definition, error) {
	var w *turbocat.Workflow
	var err error
	if version > 0 {
		w, err = s.Workflows.WorkflowVersion(ctx, actor.UserID, workflowID, version)
	} else {
		w, err = s.Workflows.Workflow(ctx, actor.UserID, workflowID)
	}
	if err != nil {
		return nil, err
	}
	in, err := s.compileInput(ctx, w)
	if err != nil {
		return nil, err
	}
	sm, err := compiler.Compile(in, compiler.Options{StepRunnerFunction: s.StepRunnerFunction})
	if err != nil {
		return nil, err
	}
	def, err := compiler.MarshalJSON(sm)
	if err != nil {
		return nil, err
	}
	return &Definition{WorkflowID: w.ID, Version: w.Version, StateMachineName: s.StateMachineName(w.ID), Definition: def}, nil
}
