package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.AgentStore = (*DB)(nil)
var _ turbocat.TemplateStore = (*DB)(nil)

func toAgent(a dbsqlc.Agent) *turbocat.Agent {
	return &turbocat.Agent{ID: a.ID, UserID: a.UserID, TemplateID: a.TemplateID, Name: a.Name, Description: a.Description,
		Type: a.Type, Config: a.Config, InputSchema: a.InputSchema, Status: a.Status, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// lockUser serialises quota checks of one user: concurrent creates cannot
// both see room for one more.
func lockUser(ctx context.Context, q *dbsqlc.Queries, userID string) error {
	if _, err := q.UserGetForUpdate(ctx, userID); err != nil {
		return translate(err, "user")
	}
	return nil
}

// CreateAgent implements turbocat.AgentStore.
func (db *DB) CreateAgent(ctx context.Context, a *turbocat.Agent, maxAgents int) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := lockUser(ctx, q, a.UserID); err != nil {
			return err
		}
		n, err := q.AgentCount(ctx, a.UserID)
		if err != nil {
			return fmt.Errorf("count agents: %w", err)
		}
		if n >= int64(maxAgents) {
			return turbocat.Errorf(turbocat.EQUOTA, "agent quota reached: %d of %d; delete an agent or ask an administrator to raise TURBOCAT_MAX_AGENTS", n, maxAgents)
		}
		if a.Status == "" {
			a.Status = turbocat.AgentActive
		}
		row, err := q.AgentCreate(ctx, dbsqlc.AgentCreateParams{UserID: a.UserID, TemplateID: a.TemplateID, Name: a.Name,
			Description: a.Description, Type: a.Type, Config: a.Config, Status: a.Status, InputSchema: nilIfEmptyJSON(a.InputSchema)})
		if err != nil {
			return translate(err, "agent")
		}
		*a = *toAgent(row)
		return audit(ctx, q, "agent.create", "agent", a.ID, map[string]any{"name": a.Name, "type": a.Type})
	})
}

// Agent implements turbocat.AgentStore.
func (db *DB) Agent(ctx context.Context, userID, id string) (*turbocat.Agent, error) {
	return getOne(id, "agent", func() (dbsqlc.Agent, error) {
		return db.q.AgentGet(ctx, dbsqlc.AgentGetParams{ID: id, UserID: userID})
	}, toAgent)
}

// ListAgents implements turbocat.AgentStore.
func (db *DB) ListAgents(ctx context.Context, userID string, f turbocat.AgentFilter, p turbocat.Page) (*turbocat.List[*turbocat.Agent], error) {
	return listPage(p, "agents", func(limit int32, a after) ([]dbsqlc.Agent, error) {
		return db.q.AgentList(ctx, dbsqlc.AgentListParams{UserID: userID, Limit: limit,
			Type: nilIfEmpty(f.Type), Search: nilIfEmpty(escapeLike(f.Search)), CursorTime: a.Time, CursorID: a.ID})
	}, toAgent, func(a *turbocat.Agent) (time.Time, string) { return a.CreatedAt, a.ID })
}

// UpdateAgent implements turbocat.AgentStore.
func (db *DB) UpdateAgent(ctx context.Context, userID, id string, fn func(*turbocat.Agent) error) (*turbocat.Agent, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("agent")
	}
	var out *turbocat.Agent
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.AgentGetForUpdate(ctx, dbsqlc.AgentGetForUpdateParams{ID: id, UserID: userID})
		if err != nil {
			return translate(err, "agent")
		}
		a := toAgent(row)
		if err := fn(a); err != nil {
			return err
		}
		row, err = q.AgentUpdate(ctx, dbsqlc.AgentUpdateParams{ID: id, UserID: userID, Name: a.Name,
			Description: a.Description, Config: a.Config, Status: a.Status, InputSchema: nilIfEmptyJSON(a.InputSchema)})
		if err != nil {
			return translate(err, "agent")
		}
		out = toAgent(row)
		return audit(ctx, q, "agent.update", "agent", id, map[string]any{"name": out.Name})
	})
	return out, err
}

// DeleteAgent implements turbocat.AgentStore.
func (db *DB) DeleteAgent(ctx context.Context, userID, id string) error {
	if !isUUID(id) {
		return turbocat.NotFound("agent")
	}
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		if _, err := q.AgentGetForUpdate(ctx, dbsqlc.AgentGetForUpdateParams{ID: id, UserID: userID}); err != nil {
			return translate(err, "agent")
		}
		users, err := q.AgentWorkflowsUsing(ctx, &id)
		if err != nil {
			return fmt.Errorf("workflows using agent: %w", err)
		}
		if len(users) > 0 {
			return turbocat.Errorf(turbocat.ECONFLICT, "agent is used by workflow(s) %s; remove it from their steps first", strings.Join(users, ", "))
		}
		// An environment may run an older version that still uses it.
		deployed, err := q.AgentDeploymentsUsing(ctx, dbsqlc.AgentDeploymentsUsingParams{UserID: userID, AgentID: id})
		if err != nil {
			return fmt.Errorf("deployments using agent: %w", err)
		}
		if len(deployed) > 0 {
			names := make([]string, len(deployed))
			for i, d := range deployed {
				names[i] = fmt.Sprintf("%s/%s (version %d)", d.WorkflowName, d.Environment, d.Version)
			}
			return turbocat.Errorf(turbocat.ECONFLICT, "agent is used by active deployment(s) %s; deploy a version without it or deactivate them first", strings.Join(names, ", "))
		}
		if _, err := q.AgentDelete(ctx, dbsqlc.AgentDeleteParams{ID: id, UserID: userID}); err != nil {
			return translate(err, "agent")
		}
		return audit(ctx, q, "agent.delete", "agent", id, nil)
	})
}

// OwnedAgents implements turbocat.AgentStore.
func (db *DB) OwnedAgents(ctx context.Context, userID string, ids []string) (map[string]string, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if isUUID(id) {
			valid = append(valid, id)
		}
	}
	out := map[string]string{}
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := db.q.AgentsOwned(ctx, dbsqlc.AgentsOwnedParams{UserID: userID, Ids: valid})
	if err != nil {
		return nil, fmt.Errorf("owned agents: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Type
	}
	return out, nil
}

// AgentsByName implements turbocat.AgentStore.
func (db *DB) AgentsByName(ctx context.Context, userID string, names []string) (map[string]*turbocat.Agent, error) {
	out := map[string]*turbocat.Agent{}
	if len(names) == 0 {
		return out, nil
	}
	rows, err := db.q.AgentsGetByNames(ctx, dbsqlc.AgentsGetByNamesParams{UserID: userID, Names: names})
	if err != nil {
		return nil, fmt.Errorf("agents by name: %w", err)
	}
	for _, r := range rows {
		out[r.Name] = toAgent(r)
	}
	return out, nil
}

// AgentsUsingTool implements turbocat.AgentStore.
func (db *DB) AgentsUsingTool(ctx context.Context, userID, name string) ([]string, error) {
	names, err := db.q.AgentsUsingTool(ctx, dbsqlc.AgentsUsingToolParams{UserID: userID, Name: name})
	if err != nil {
		return nil, fmt.Errorf("agents using %q as a tool: %w", name, err)
	}
	return names, nil
}

// AgentsUsingWorkflow implements turbocat.AgentStore.
func (db *DB) AgentsUsingWorkflow(ctx context.Context, userID, name, id string) ([]string, error) {
	names, err := db.q.AgentsUsingWorkflowTool(ctx, dbsqlc.AgentsUsingWorkflowToolParams{UserID: userID, Name: name, ID: id})
	if err != nil {
		return nil, fmt.Errorf("agents using workflow %q as a tool: %w", name, err)
	}
	return names, nil
}

// nilIfEmptyJSON stores an absent or null JSON document as SQL NULL.
func nilIfEmptyJSON(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func toTemplate(t dbsqlc.Template) *turbocat.Template {
	out := &turbocat.Template{ID: t.ID, UserID: t.UserID, BuiltIn: t.UserID == nil, Kind: t.Kind, Name: t.Name,
		Description: t.Description, Category: t.Category, Definition: t.Definition, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if t.AgentType != nil {
		out.AgentType = *t.AgentType
	}
	return out
}

// CreateTemplate implements turbocat.TemplateStore.
func (db *DB) CreateTemplate(ctx context.Context, t *turbocat.Template) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.TemplateCreate(ctx, dbsqlc.TemplateCreateParams{UserID: t.UserID, Kind: t.Kind, Name: t.Name,
			Description: t.Description, Category: t.Category, AgentType: nilIfEmpty(t.AgentType), Definition: t.Definition})
		if err != nil {
			return translate(err, "template")
		}
		*t = *toTemplate(row)
		return audit(ctx, q, "template.create", "template", t.ID, map[string]any{"name": t.Name, "kind": t.Kind})
	})
}

// Template implements turbocat.TemplateStore.
func (db *DB) Template(ctx context.Context, userID, id string) (*turbocat.Template, error) {
	return getOne(id, "template", func() (dbsqlc.Template, error) {
		return db.q.TemplateGet(ctx, dbsqlc.TemplateGetParams{ID: id, UserID: &userID})
	}, toTemplate)
}

// ListTemplates implements turbocat.TemplateStore.
func (db *DB) ListTemplates(ctx context.Context, userID, kind string, p turbocat.Page) (*turbocat.List[*turbocat.Template], error) {
	return listPage(p, "templates", func(limit int32, a after) ([]dbsqlc.Template, error) {
		return db.q.TemplateList(ctx, dbsqlc.TemplateListParams{UserID: &userID, Limit: limit, Kind: nilIfEmpty(kind), CursorTime: a.Time, CursorID: a.ID})
	}, toTemplate, func(t *turbocat.Template) (time.Time, string) { return t.CreatedAt, t.ID })
}

// UpdateTemplate implements turbocat.TemplateStore. Built-in templates are
// not the caller's: they cannot be changed (ENOTFOUND for writes is wrong
// here since the caller can read them, so it is EFORBIDDEN).
func (db *DB) UpdateTemplate(ctx context.Context, userID, id string, fn func(*turbocat.Template) error) (*turbocat.Template, error) {
	t, err := db.Template(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if t.BuiltIn {
		return nil, turbocat.Errorf(turbocat.EFORBIDDEN, "built-in templates are read-only; instantiate it or create your own")
	}
	if err := fn(t); err != nil {
		return nil, err
	}
	var out *turbocat.Template
	err = db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.TemplateUpdate(ctx, dbsqlc.TemplateUpdateParams{ID: id, UserID: &userID, Name: t.Name,
			Description: t.Description, Category: t.Category, Definition: t.Definition})
		if err != nil {
			return translate(err, "template")
		}
		out = toTemplate(row)
		return audit(ctx, q, "template.update", "template", id, map[string]any{"name": out.Name})
	})
	return out, err
}

// DeleteTemplate implements turbocat.TemplateStore.
func (db *DB) DeleteTemplate(ctx context.Context, userID, id string) error {
	t, err := db.Template(ctx, userID, id)
	if err != nil {
		return err
	}
	if t.BuiltIn {
		return turbocat.Errorf(turbocat.EFORBIDDEN, "built-in templates cannot be deleted")
	}
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.TemplateDelete(ctx, dbsqlc.TemplateDeleteParams{ID: id, UserID: &userID})
		if err != nil {
			return translate(err, "template")
		}
		if n == 0 {
			return turbocat.NotFound("template")
		}
		return audit(ctx, q, "template.delete", "template", id, nil)
	})
}

// SeedBuiltinTemplates implements turbocat.TemplateStore.
func (db *DB) SeedBuiltinTemplates(ctx context.Context, ts []*turbocat.Template) error {
	return db.inTx(ctx, func(q *dbsqlc.Queries) error {
		for _, t := range ts {
			if err := q.TemplateUpsertBuiltin(ctx, dbsqlc.TemplateUpsertBuiltinParams{Kind: t.Kind, Name: t.Name,
				Description: t.Description, Category: t.Category, AgentType: nilIfEmpty(t.AgentType), Definition: t.Definition}); err != nil {
				return fmt.Errorf("seed template %q: %w", t.Name, err)
			}
		}
		return nil
	})
}
