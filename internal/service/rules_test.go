package service

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// The rules below need no storage to be checked: each test gives the
// service an in-memory store holding just what the rule reads, so a rule's
// table runs in microseconds. Storage itself is tested against Postgres
// (internal/postgres, internal/httpapi).

// agentStore keeps created agents in memory; the other AgentStore methods
// are not used by the rules under test.
type agentStore struct {
	turbocat.AgentStore
	created []*turbocat.Agent
	owned   map[string]bool
}

func (s *agentStore) CreateAgent(_ context.Context, a *turbocat.Agent, _ int) error {
	s.created = append(s.created, a)
	return nil
}

func (s *agentStore) OwnedAgents(_ context.Context, _ string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if s.owned[id] {
			out[id] = turbocat.AgentCode
		}
	}
	return out, nil
}

type workflowStore struct {
	turbocat.WorkflowStore
	byID    map[string]*turbocat.Workflow
	created []*turbocat.Workflow
}

func (s *workflowStore) CreateWorkflow(_ context.Context, w *turbocat.Workflow, _ int) error {
	s.created = append(s.created, w)
	return nil
}

func (s *workflowStore) Workflow(_ context.Context, userID, id string) (*turbocat.Workflow, error) {
	if w, ok := s.byID[id]; ok && w.UserID == userID {
		return w, nil
	}
	return nil, turbocat.NotFound("workflow")
}

type auditStore struct {
	turbocat.AuditStore
	got *turbocat.AuditFilter
}

func (s *auditStore) ListAudit(_ context.Context, f turbocat.AuditFilter, _ turbocat.Page) (*turbocat.List[*turbocat.AuditEntry], error) {
	s.got = &f
	return &turbocat.List[*turbocat.AuditEntry]{}, nil
}

func ptr[T any](v T) *T { return &v }

// fields returns the field names of a validation error's details.
func fields(t *testing.T, err error) []string {
	t.Helper()
	e := turbocat.AsError(err)
	require.NotNil(t, e, "want a *turbocat.Error, got %v", err)
	require.Equal(t, turbocat.EVALIDATION, e.Code, e.Message)
	var out []string
	for _, d := range e.Details {
		out = append(out, d.Field)
	}
	return out
}

func TestAgentCreateRules(t *testing.T) {
	t.Parallel()
	actor := &turbocat.Actor{UserID: "u1"}
	code := json.RawMessage(`{"source":"function main(input) { return input; }"}`)
	for _, tt := range []struct {
		name string
		in   AgentInput
		want []string // invalid fields; nil: stored
	}{
		{"valid", AgentInput{Name: ptr("echo"), Type: ptr("code"), Config: code}, nil},
		{"name trimmed and required", AgentInput{Name: ptr("   "), Type: ptr("code"), Config: code}, []string{"name"}},
		{"no name", AgentInput{Type: ptr("code"), Config: code}, []string{"name"}},
		{"name over 100 characters", AgentInput{Name: ptr(strings.Repeat("é", 101)), Type: ptr("code"), Config: code}, []string{"name"}},
		{"no type", AgentInput{Name: ptr("x"), Config: code}, []string{"type"}},
		{"unknown type", AgentInput{Name: ptr("x"), Type: ptr("shell"), Config: code}, []string{"type"}},
		{"config of another type", AgentInput{Name: ptr("x"), Type: ptr("api"), Config: code}, []string{"config"}},
		{"no config", AgentInput{Name: ptr("x"), Type: ptr("code")}, []string{"config"}},
		{"bad status", AgentInput{Name: ptr("x"), Type: ptr("code"), Config: code, Status: ptr("paused")}, []string{"status"}},
		{"every problem at once", AgentInput{Description: ptr(strings.Repeat("d", 2001)), Type: ptr("x")}, []string{"name", "description", "type"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &agentStore{}
			s := &Agents{Store: store}
			a, err := s.Create(context.Background(), actor, tt.in)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, []*turbocat.Agent{a}, store.created)
				require.Equal(t, "u1", a.UserID, "an agent belongs to its creator")
				require.Equal(t, turbocat.AgentActive, a.Status, "agents start active")
				return
			}
			require.ElementsMatch(t, tt.want, fields(t, err))
			require.Empty(t, store.created, "an invalid agent is not stored")
		})
	}
}

func TestWorkflowCreateRules(t *testing.T) {
	t.Parallel()
	actor := &turbocat.Actor{UserID: "u1"}
	step := func(key, agent string, deps ...string) turbocat.WorkflowStep {
		return turbocat.WorkflowStep{Key: key, AgentID: agent, DependsOn: deps}
	}
	for _, tt := range []struct {
		name  string
		steps []turbocat.WorkflowStep
		want  []string
	}{
		{"parallel branches", []turbocat.WorkflowStep{step("a", "mine"), step("b", "mine", "a"), step("c", "mine", "a")}, nil},
		{"another user's agent", []turbocat.WorkflowStep{step("a", "theirs")}, []string{"steps[0].agentId"}},
		{"missing agent", []turbocat.WorkflowStep{step("a", "")}, []string{"steps[0].agentId"}},
		{"cycle", []turbocat.WorkflowStep{step("a", "mine", "b"), step("b", "mine", "a")}, []string{"steps[1].dependsOn[0]"}},
		{"unknown dependency", []turbocat.WorkflowStep{step("a", "mine", "z")}, []string{"steps[0].dependsOn[0]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wfs := &workflowStore{}
			s := &Workflows{Store: wfs, Agents: &agentStore{owned: map[string]bool{"mine": true}}}
			steps := tt.steps
			_, err := s.Create(context.Background(), actor, WorkflowInput{Name: ptr("wf"), Steps: &steps})
			if tt.want == nil {
				require.NoError(t, err)
				require.Len(t, wfs.created, 1)
				return
			}
			require.Subset(t, fields(t, err), tt.want)
			require.Empty(t, wfs.created, "an invalid workflow is not stored")
		})
	}
}

func TestWorkflowTemplateRules(t *testing.T) {
	t.Parallel()
	steps := func(inputs string) *[]turbocat.WorkflowStep {
		return &[]turbocat.WorkflowStep{
			{Key: "fetch", AgentID: "mine", Inputs: json.RawMessage(`{"url":"{{inputs.url}}"}`)},
			{Key: "sum", AgentID: "mine", DependsOn: []string{"fetch"}, Inputs: json.RawMessage(inputs)},
			{Key: "side", AgentID: "mine", Inputs: json.RawMessage(`{}`)},
		}
	}
	schema := json.RawMessage(`{"type":"object","properties":{"url":{"type":"string"}}}`)
	for _, tt := range []struct {
		name, inputs, want string
	}{
		{"upstream output", `{"t":"{{steps.fetch.output.body}}"}`, ""},
		{"execution id", `{"t":"{{execution.id}}"}`, ""},
		{"not upstream", `{"t":"{{steps.side.output}}"}`, "not upstream"},
		{"unknown step", `{"t":"{{steps.nope.output}}"}`, "unknown step"},
		{"not an output", `{"t":"{{steps.fetch.result}}"}`, "must look like {{steps.<key>.output...}}"},
		{"undeclared input", `{"t":"{{inputs.other}}"}`, "which inputSchema does not declare"},
		{"secret in a step input", `{"t":"{{secrets.TOKEN}}"}`, "secrets belong in agent configs"},
		{"unknown execution field", `{"t":"{{execution.bogus}}"}`, "execution offers id and startedAt"},
		{"inputs not an object", `["x"]`, "must be an object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Workflows{Store: &workflowStore{}, Agents: &agentStore{owned: map[string]bool{"mine": true}}}
			_, err := s.Create(context.Background(), &turbocat.Actor{UserID: "u1"},
				WorkflowInput{Name: ptr("wf"), InputSchema: schema, Steps: steps(tt.inputs)})
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			e := turbocat.AsError(err)
			require.NotNil(t, e)
			require.Len(t, e.Details, 1, "%+v", e.Details)
			require.Equal(t, "steps[1].inputs", e.Details[0].Field)
			require.Contains(t, e.Details[0].Message, tt.want)
		})
	}
}

func TestAuditScope(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		actor   turbocat.Actor
		userID  string
		want    *string // the user whose entries are listed; nil: everyone's
		wantErr bool
	}{
		{"a user reads their own", turbocat.Actor{UserID: "u1", Role: turbocat.RoleUser}, "", ptr("u1"), false},
		{"a user cannot read another's", turbocat.Actor{UserID: "u1", Role: turbocat.RoleUser}, "00000000-0000-0000-0000-000000000002", ptr("u1"), false},
		{"an administrator reads everyone's", turbocat.Actor{UserID: "a1", Role: turbocat.RoleAdmin}, "", nil, false},
		{"an administrator reads one user's", turbocat.Actor{UserID: "a1", Role: turbocat.RoleAdmin}, "00000000-0000-0000-0000-000000000002", ptr("00000000-0000-0000-0000-000000000002"), false},
		{"an administrator's API key reads only its owner's", turbocat.Actor{UserID: "a1", Role: turbocat.RoleAdmin, APIKeyID: "k"}, "", ptr("a1"), false},
		{"a bad user id", turbocat.Actor{UserID: "a1", Role: turbocat.RoleAdmin}, "nope", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &auditStore{}
			_, err := (&Audit{Store: store}).List(context.Background(), &tt.actor, AuditQuery{UserID: tt.userID}, turbocat.Page{Limit: 10})
			if tt.wantErr {
				require.Equal(t, []string{"userId"}, fields(t, err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, store.got.UserID)
		})
	}
}

func TestRunsWithoutEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := &turbocat.Workflow{ID: "w1", UserID: "u1", Version: 1}
	s := &Executions{}

	_, err := s.ExecuteWorkflow(ctx, &turbocat.Actor{UserID: "u2"}, w, ExecuteInput{})
	require.Equal(t, turbocat.ENOTFOUND, turbocat.ErrorCodeOf(err), "another user's workflow is a 404 before anything else")
	_, err = s.ExecuteWorkflow(ctx, &turbocat.Actor{UserID: "u1"}, w, ExecuteInput{})
	require.Equal(t, turbocat.EUNAVAILABLE, turbocat.ErrorCodeOf(err), "no engine: the run cannot start")
	require.Contains(t, err.Error(), "no workflow engine is configured")
}

func TestIdempotencyKeyBound(t *testing.T) {
	t.Parallel()
	require.NoError(t, checkIdempotencyKey("idempotencyKey", strings.Repeat("k", MaxIdempotencyKey)))
	err := checkIdempotencyKey("Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey+1))
	require.Equal(t, []string{"Idempotency-Key"}, fields(t, err), "the error names where the key came from")
}
