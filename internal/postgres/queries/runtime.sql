-- name: RuntimeStateMachineUpsert :exec
INSERT INTO runtime_state_machines (arn, doc) VALUES ($1, $2)
ON CONFLICT (arn) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now();

-- name: RuntimeStateMachineDelete :exec
DELETE FROM runtime_state_machines WHERE arn = $1;

-- name: RuntimeStateMachineList :many
SELECT doc FROM runtime_state_machines ORDER BY arn;

-- name: RuntimeExecutionUpsert :exec
INSERT INTO runtime_executions (arn, state_machine_arn, status, start_date, doc) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (arn) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc;

-- name: RuntimeExecutionListRunning :many
-- A record's definition, kept once by its hash (RuntimeDefinitionPut), is
-- put back into the record as it is read.
SELECT CASE WHEN d.definition IS NULL THEN e.doc ELSE e.doc || jsonb_build_object('Definition', d.definition) END::jsonb AS doc
FROM runtime_executions e LEFT JOIN runtime_definitions d ON d.sha256 = e.doc->>'DefinitionSHA256'
WHERE e.status = 'RUNNING' ORDER BY e.start_date, e.arn;

-- name: RuntimeExecutionListRecentClosed :many
SELECT CASE WHEN d.definition IS NULL THEN e.doc ELSE e.doc || jsonb_build_object('Definition', d.definition) END::jsonb AS doc
FROM runtime_executions e LEFT JOIN runtime_definitions d ON d.sha256 = e.doc->>'DefinitionSHA256'
WHERE e.status <> 'RUNNING' ORDER BY e.start_date DESC, e.arn DESC LIMIT $1;

-- name: RuntimeExecutionGet :one
SELECT CASE WHEN d.definition IS NULL THEN e.doc ELSE e.doc || jsonb_build_object('Definition', d.definition) END::jsonb AS doc
FROM runtime_executions e LEFT JOIN runtime_definitions d ON d.sha256 = e.doc->>'DefinitionSHA256'
WHERE e.arn = $1;

-- name: RuntimeDefinitionPut :exec
-- A definition executions' records refer to by its SHA-256.
INSERT INTO runtime_definitions (sha256, definition) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING;

-- name: RuntimeEventBatchInsert :exec
-- Events the runtime journals together, as one row: a JSON array in ID
-- order starting at first_id. The same batch written again (a retry after
-- a write whose outcome was unknown) is a no-op.
INSERT INTO runtime_event_batches (execution_arn, first_id, events) VALUES ($1, $2, $3)
ON CONFLICT (execution_arn, first_id) DO NOTHING;

-- name: RuntimeEventBatchList :many
SELECT events FROM runtime_event_batches WHERE execution_arn = $1 ORDER BY first_id;

-- name: RuntimeExecutionPrune :execrows
-- Deletes up to max_rows closed executions that stopped before the cutoff;
-- their events go with them (ON DELETE CASCADE).
DELETE FROM runtime_executions WHERE arn IN (
    SELECT e.arn FROM runtime_executions e
    WHERE e.status <> 'RUNNING' AND (e.doc->>'StopDate')::timestamptz < sqlc.arg(before)::timestamptz
    LIMIT sqlc.arg(max_rows)::int
);

-- name: RuntimeExecutionEnd :exec
-- An execution's last events and its terminal record in one statement.
-- first_id 0 writes no events.
WITH evs AS (
    INSERT INTO runtime_event_batches (execution_arn, first_id, events)
    SELECT sqlc.arg(arn)::text, sqlc.arg(first_id)::bigint, sqlc.arg(events)::jsonb
    WHERE sqlc.arg(first_id)::bigint > 0
    ON CONFLICT (execution_arn, first_id) DO NOTHING
)
INSERT INTO runtime_executions (arn, state_machine_arn, status, start_date, doc)
VALUES (sqlc.arg(arn)::text, sqlc.arg(state_machine_arn), sqlc.arg(status), sqlc.arg(start_date), sqlc.arg(doc))
ON CONFLICT (arn) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc;
