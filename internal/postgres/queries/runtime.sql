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

-- name: RuntimeEventInsert :exec
INSERT INTO runtime_events (execution_arn, id, event) VALUES ($1, $2, $3)
ON CONFLICT (execution_arn, id) DO NOTHING;

-- name: RuntimeEventInsertBatch :exec
-- One round trip for a batch of events.
INSERT INTO runtime_events (execution_arn, id, event)
SELECT sqlc.arg(execution_arn)::text, unnest(sqlc.arg(ids)::bigint[]), unnest(sqlc.arg(events)::jsonb[])
ON CONFLICT (execution_arn, id) DO NOTHING;

-- name: RuntimeEventList :many
SELECT event FROM runtime_events WHERE execution_arn = $1 ORDER BY id;

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
WITH evs AS (
    INSERT INTO runtime_events (execution_arn, id, event)
    SELECT sqlc.arg(arn)::text, unnest(sqlc.arg(ids)::bigint[]), unnest(sqlc.arg(events)::jsonb[])
    ON CONFLICT (execution_arn, id) DO NOTHING
)
INSERT INTO runtime_executions (arn, state_machine_arn, status, start_date, doc)
VALUES (sqlc.arg(arn)::text, sqlc.arg(state_machine_arn), sqlc.arg(status), sqlc.arg(start_date), sqlc.arg(doc))
ON CONFLICT (arn) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc;
