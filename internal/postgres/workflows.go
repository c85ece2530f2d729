package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.WorkflowStore = (*DB)(nil)

// workflowDef is the stored definition: everything about a workflow that
// versions carry. The steps here are authoritative for reads; workflow_steps
// rows mirror them for referential integrity (agents in use cannot go).
type workflowDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Schedule    *string         `json:"schedule,omitempty"`
	// MaxConcurrentRuns is the workflow's bound on runs in flight.
	MaxConcurrentRuns int                     `json:"maxConcurrentRuns,omitempty"`
	MaxCostUSD        *float64                `json:"maxCostUsd,omitempty"`
	MaxTokens         *int64                  `json:"maxTokens,omitempty"`
	Steps             []turbocat.WorkflowStep `json:"steps"`
}

func defOf(w *turbocat.Workflow) ([]byte, error) {
	steps := w.Steps
	if steps == nil {
		steps = []turbocat.WorkflowStep{}
	}
	return json.Marshal(workflowDef{Name: w.Name, Description: w.Description, InputSchema: w.InputSchema,
		Output: w.Output, Schedule: w.Schedule, MaxConcurrentRuns: w.MaxConcurrentRuns,
		MaxCostUSD: w.MaxCostUSD, MaxTokens: w.MaxTokens, Steps: steps})
}

func toWorkflow(r dbsqlc.Workflow) (*turbocat.Workflow, error) {
	var d workflowDef
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return nil, fmt.Errorf("decode workflow %s definition: %w", r.ID, err)
	}
	if d.Steps == nil {
		d.Steps = []turbocat.WorkflowStep{}
	}
	return &turbocat.Workflow{ID: r.ID, UserID: r.UserID, Name: r.Name, Description: r.Description,
		InputSchema: d.InputSchema, Output: d.Output, Schedule: r.Schedule, MaxConcurrentRuns: d.MaxConcurrentRuns,
		MaxCostUSD: d.MaxCostUSD, MaxTokens: d.MaxTokens, Version: int(r.Version), Steps: d.Steps,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

// writeSteps replaces the workflow's step rows and records the version.
func writeSteps(ctx context.Context, q *dbsqlc.Queries, w *turbocat.Workflow, def []byte) error {
	if err := q.WorkflowStepsDelete(ctx, w.ID); err != nil {
		return fmt.Errorf("delete steps: %w", err)
	}
	rows := make([]dbsqlc.WorkflowStepsInsertParams, len(w.Steps))
	for i, s := range w.Steps {
		inputs := s.Inputs
		if len(inputs) == 0 {
			inputs = json.RawMessage(`{}`)
		}
		deps := s.DependsOn
		if deps == nil {
			deps = []string{}
		}
		p := dbsqlc.WorkflowStepsInsertParams{WorkflowID: w.ID, AgentID: s.AgentID, StepKey: s.Key, Position: int32(i),
			DependsOn: deps, Inputs: inputs}
		if s.TimeoutSeconds > 0 {
			t := int32(s.TimeoutSeconds)
			p.TimeoutSeconds = &t
		}
		if r := s.Retry; r != nil {
			ma, iv, md := int32(r.MaxAttempts), int32(r.IntervalSeconds), int32(r.MaxDelaySeconds)
			br := r.BackoffRate
			p.RetryMaxAttempts, p.RetryIntervalSeconds, p.RetryBackoffRate = &ma, &iv, &br
			if md > 0 {
				p.RetryMaxDelaySeconds = &md
			}
			p.RetryErrors = r.Errors
		}
		rows[i] = p
	}
	if len(rows) > 0 {
		if _, err := q.WorkflowStepsInsert(ctx, rows); err != nil {
			return translate(err, "workflow step")
		}
	}
	if err := q.WorkflowVersionInsert(ctx, dbsqlc.WorkflowVersionInsertParams{WorkflowID: w.ID, Version: int32(w.Version), Definition: def}); err != nil {
		return fmt.Errorf("record workflow version: %w", err)
	}
	return nil
}

// CreateWorkflow implements turbocat.WorkflowStore.
func (db *DB) CreateWorkflow(ctx context.Context, w *turbocat.Workflow, maxWorkflows int) error {
	def, err := defOf(w)
	if err != nil {
		return fmt.Errorf("encode workflow: %w", err)
	}
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := lockUser(ctx, q, w.UserID); err != nil {
			return err
		}
		n, err := q.WorkflowCount(ctx, w.UserID)
		if err != nil {
			return fmt.Errorf("count workflows: %w", err)
		}
		if n >= int64(maxWorkflows) {
			return turbocat.Errorf(turbocat.EQUOTA, "workflow quota reached: %d of %d; delete a workflow or ask an administrator to raise TURBOCAT_MAX_WORKFLOWS", n, maxWorkflows)
		}
		row, err := q.WorkflowCreate(ctx, dbsqlc.WorkflowCreateParams{UserID: w.UserID, Name: w.Name, Description: w.Description,
			Definition: def, Schedule: w.Schedule})
		if err != nil {
			return translate(err, "workflow")
		}
		steps := w.Steps
		created, err := toWorkflow(row)
		if err != nil {
			return err
		}
		*w = *created
		w.Steps = steps
		if err := writeSteps(ctx, q, w, def); err != nil {
			return err
		}
		return audit(ctx, q, "workflow.create", "workflow", w.ID, map[string]any{"name": w.Name, "version": w.Version, "steps": len(w.Steps)})
	})
}

// Workflow implements turbocat.WorkflowStore.
func (db *DB) Workflow(ctx context.Context, userID, id string) (*turbocat.Workflow, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("workflow")
	}
	row, err := db.q.WorkflowGet(ctx, dbsqlc.WorkflowGetParams{ID: id, UserID: userID})
	if err != nil {
		return nil, translate(err, "workflow")
	}
	return toWorkflow(row)
}

// WorkflowVersion implements turbocat.WorkflowStore.
func (db *DB) WorkflowVersion(ctx context.Context, userID, id string, version int) (*turbocat.Workflow, error) {
	w, err := db.Workflow(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if w.Version == version {
		return w, nil
	}
	v, err := db.q.WorkflowVersionGet(ctx, dbsqlc.WorkflowVersionGetParams{WorkflowID: id, Version: int32(version), UserID: userID})
	if err != nil {
		return nil, translate(err, "workflow version")
	}
	old, err := toWorkflow(dbsqlc.Workflow{ID: w.ID, UserID: w.UserID, Name: w.Name, Description: w.Description,
		Definition: v.Definition, Version: v.Version, CreatedAt: w.CreatedAt, UpdatedAt: v.CreatedAt})
	if err != nil {
		return nil, err
	}
	var d workflowDef
	_ = json.Unmarshal(v.Definition, &d)
	old.Name, old.Description, old.Schedule = d.Name, d.Description, d.Schedule
	return old, nil
}

// ListWorkflows implements turbocat.WorkflowStore.
func (db *DB) ListWorkflows(ctx context.Context, userID, search string, p turbocat.Page) (*turbocat.List[*turbocat.Workflow], error) {
	ct, cid, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	rows, err := db.q.WorkflowList(ctx, dbsqlc.WorkflowListParams{UserID: userID, Limit: int32(p.Limit + 1),
		Search: nilIfEmpty(escapeLike(search)), CursorTime: ct, CursorID: cid})
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	items := make([]*turbocat.Workflow, 0, len(rows))
	for _, r := range rows {
		w, err := toWorkflow(r)
		if err != nil {
			return nil, err
		}
		items = append(items, w)
	}
	return page(items, p.Limit, func(w *turbocat.Workflow) (time.Time, string) { return w.CreatedAt, w.ID }), nil
}

// UpdateWorkflow implements turbocat.WorkflowStore.
func (db *DB) UpdateWorkflow(ctx context.Context, userID, id string, fn func(*turbocat.Workflow) error) (*turbocat.Workflow, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("workflow")
	}
	var out *turbocat.Workflow
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.WorkflowGetForUpdate(ctx, dbsqlc.WorkflowGetForUpdateParams{ID: id, UserID: userID})
		if err != nil {
			return translate(err, "workflow")
		}
		w, err := toWorkflow(row)
		if err != nil {
			return err
		}
		if err := fn(w); err != nil {
			return err
		}
		def, err := defOf(w)
		if err != nil {
			return fmt.Errorf("encode workflow: %w", err)
		}
		row, err = q.WorkflowUpdate(ctx, dbsqlc.WorkflowUpdateParams{ID: id, UserID: userID, Name: w.Name,
			Description: w.Description, Definition: def, Schedule: w.Schedule})
		if err != nil {
			return translate(err, "workflow")
		}
		steps := w.Steps
		if out, err = toWorkflow(row); err != nil {
			return err
		}
		out.Steps = steps
		if err := writeSteps(ctx, q, out, def); err != nil {
			return err
		}
		return audit(ctx, q, "workflow.update", "workflow", id, map[string]any{"name": out.Name, "version": out.Version, "steps": len(out.Steps)})
	})
	return out, err
}

// DeleteWorkflow implements turbocat.WorkflowStore.
func (db *DB) DeleteWorkflow(ctx context.Context, userID, id string) error {
	if !isUUID(id) {
		return turbocat.NotFound("workflow")
	}
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.WorkflowDelete(ctx, dbsqlc.WorkflowDeleteParams{ID: id, UserID: userID})
		if err != nil {
			return translate(err, "workflow")
		}
		if n == 0 {
			return turbocat.NotFound("workflow")
		}
		return audit(ctx, q, "workflow.delete", "workflow", id, nil)
	})
}
