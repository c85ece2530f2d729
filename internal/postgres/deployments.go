package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/turbocat/turbocat/internal/postgres/dbsqlc"
	"github.com/turbocat/turbocat/internal/turbocat"
)

var _ turbocat.DeploymentStore = (*DB)(nil)

// CreateDeployment implements turbocat.DeploymentStore.
func (db *DB) CreateDeployment(ctx context.Context, d *turbocat.Deployment, signingSecretEnc []byte) (bool, error) {
	kept := false
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		var previous, canary *int32
		if d.CanaryWeight != nil {
			w := int32(*d.CanaryWeight)
			canary = &w
		}
		enc := signingSecretEnc
		if d.Status == turbocat.DeploymentActive {
			prev, err := q.DeploymentDeactivateActive(ctx, dbsqlc.DeploymentDeactivateActiveParams{WorkflowID: d.WorkflowID, Environment: d.Environment})
			if err == nil {
				previous = &prev.Version
				if len(prev.SigningSecretEnc) > 0 {
					enc, kept = prev.SigningSecretEnc, true
				}
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("deactivate previous deployment: %w", err)
			}
		}
		row, err := q.DeploymentInsert(ctx, dbsqlc.DeploymentInsertParams{WorkflowID: d.WorkflowID, UserID: d.UserID, Environment: d.Environment,
			Status: d.Status, Version: int32(d.Version), PreviousVersion: previous, StateMachineRef: d.StateMachineRef, VersionRef: d.VersionRef,
			AliasRef: d.AliasRef, Schedule: d.Schedule, Timezone: d.Timezone, EndpointUrl: d.EndpointURL, SigningSecretEnc: enc, Error: d.Error, CanaryWeight: canary,
			MayExecute: d.MayExecute, Input: d.Input})
		if err != nil {
			return translate(err, "deployment")
		}
		*d = *toDeployment(row)
		return audit(ctx, q, "deployment.create", "deployment", d.ID, map[string]any{"workflowId": d.WorkflowID,
			"environment": d.Environment, "version": d.Version, "status": d.Status, "signingSecretKept": kept})
	})
	return kept, err
}

// RecordWebhookSignature implements turbocat.DeploymentStore.
func (db *DB) RecordWebhookSignature(ctx context.Context, deploymentID string, signature []byte, idempotencyKey string) (bool, string, error) {
	// Asynchronous on its own (see the query); in a transaction, that
	// transaction's commit decides.
	row, err := db.q.WebhookSignatureRecord(ctx, dbsqlc.WebhookSignatureRecordParams{SignatureHash: signature, DeploymentID: deploymentID,
		IdempotencyKey: nilIfEmpty(idempotencyKey), Async: db.tx == nil})
	if err != nil {
		return false, "", fmt.Errorf("record webhook signature: %w", err)
	}
	first := ""
	if row.FirstKey != nil {
		first = *row.FirstKey
	}
	return row.First, first, nil
}

// DeploymentByID implements turbocat.DeploymentStore.
func (db *DB) DeploymentByID(ctx context.Context, id string) (*turbocat.Deployment, []byte, error) {
	if !isUUID(id) {
		return nil, nil, turbocat.NotFound("deployment")
	}
	row, err := db.q.DeploymentGetInternal(ctx, id)
	if err != nil {
		return nil, nil, translate(err, "deployment")
	}
	return toDeployment(row), row.SigningSecretEnc, nil
}

// ActiveDeployment implements turbocat.DeploymentStore.
func (db *DB) ActiveDeployment(ctx context.Context, workflowID, environment string) (*turbocat.Deployment, []byte, error) {
	if !isUUID(workflowID) {
		return nil, nil, turbocat.NotFound("deployment")
	}
	row, err := db.q.DeploymentActiveInternal(ctx, dbsqlc.DeploymentActiveInternalParams{WorkflowID: workflowID, Environment: environment})
	if err != nil {
		return nil, nil, translate(err, "deployment")
	}
	d := toDeployment(row.Deployment)
	if d.Workflow, err = toWorkflow(row.Workflow); err != nil {
		return nil, nil, err
	}
	return d, row.Deployment.SigningSecretEnc, nil
}

// RollbackDeployment implements turbocat.DeploymentStore.
func (db *DB) RollbackDeployment(ctx context.Context, userID, id string, to turbocat.Rollback) (*turbocat.Deployment, error) {
	var out *turbocat.Deployment
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		p := int32(to.Previous)
		row, err := q.DeploymentRollback(ctx, dbsqlc.DeploymentRollbackParams{ID: id, UserID: userID, Version: int32(to.Version), PreviousVersion: &p, VersionRef: &to.VersionRef})
		if errors.Is(err, pgx.ErrNoRows) {
			return turbocat.Errorf(turbocat.ECONFLICT, "only an active deployment can be rolled back")
		}
		if err != nil {
			return translate(err, "deployment")
		}
		out = toDeployment(row)
		return audit(ctx, q, "deployment.rollback", "deployment", id, map[string]any{"version": to.Version, "from": to.Previous})
	})
	return out, err
}

// DeactivateDeployment implements turbocat.DeploymentStore.
func (db *DB) DeactivateDeployment(ctx context.Context, userID, id string) (*turbocat.Deployment, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("deployment")
	}
	var out *turbocat.Deployment
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.DeploymentDeactivate(ctx, dbsqlc.DeploymentDeactivateParams{ID: id, UserID: userID})
		if err != nil {
			return translate(err, "active deployment")
		}
		out = toDeployment(row)
		return audit(ctx, q, "deployment.deactivate", "deployment", id, nil)
	})
	return out, err
}

// ScheduledDeployments implements turbocat.DeploymentStore.
func (db *DB) ScheduledDeployments(ctx context.Context) ([]*turbocat.Deployment, error) {
	rows, err := db.q.DeploymentsScheduled(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduled deployments: %w", err)
	}
	return mapSlice(rows, toDeployment), nil
}

// SetSigningSecret implements turbocat.DeploymentStore.
func (db *DB) SetSigningSecret(ctx context.Context, userID, id string, secretEnc []byte) (*turbocat.Deployment, error) {
	if !isUUID(id) {
		return nil, turbocat.NotFound("deployment")
	}
	var out *turbocat.Deployment
	err := db.inTx(ctx, func(q *dbsqlc.Queries) error {
		row, err := q.DeploymentSetSigningSecret(ctx, dbsqlc.DeploymentSetSigningSecretParams{ID: id, UserID: userID, SigningSecretEnc: secretEnc})
		if err != nil {
			return translate(err, "active deployment")
		}
		out = toDeployment(row)
		return audit(ctx, q, "deployment.rotate_secret", "deployment", id, nil)
	})
	return out, err
}

// ActiveWorkflows implements turbocat.DeploymentStore.
func (db *DB) ActiveWorkflows(ctx context.Context, userID string, limit int) ([]*turbocat.DeployedWorkflow, error) {
	rows, err := db.q.DeploymentListActive(ctx, dbsqlc.DeploymentListActiveParams{UserID: userID, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list active deployments: %w", err)
	}
	return mapSlice(rows, func(r dbsqlc.DeploymentListActiveRow) *turbocat.DeployedWorkflow {
		schema := r.InputSchema
		if string(schema) == "null" {
			schema = nil
		}
		return &turbocat.DeployedWorkflow{DeploymentID: r.ID, WorkflowID: r.WorkflowID, Environment: r.Environment,
			Version: int(r.Version), Name: r.Name, Description: r.Description, InputSchema: schema}
	}), nil
}
