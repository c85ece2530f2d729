-- Queries of the execution path (API start, step runner, reconciler). The
-- step runner is internal: it reads an execution by id alone and scopes
-- everything else by that execution's user.

-- name: ExecutionInsert :one
INSERT INTO executions (workflow_id, workflow_version, user_id, deployment_id, trigger, input_data, idempotency_key, retry_of,
    status, priority, request_hash, max_cost_usd, max_tokens, parent_execution_id, parent_step_key, replay_of)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING *;

-- name: WorkflowLockRuns :one
-- Serialises the queueing decisions of one workflow (the row lock lasts
-- until the transaction ends) and counts its active and queued runs.
SELECT (SELECT count(*) FROM executions e WHERE e.workflow_id = w.id AND e.status IN ('pending', 'running', 'waiting'))::integer AS active,
    (SELECT count(*) FROM executions e WHERE e.workflow_id = w.id AND e.status = 'queued')::integer AS queued
FROM workflows w WHERE w.id = $1
FOR UPDATE OF w;

-- name: ExecutionPromoteQueued :one
-- The next queued run of a workflow (highest priority, then oldest) becomes
-- pending, to be started.
UPDATE executions SET status = 'pending'
WHERE id = (SELECT q.id FROM executions q WHERE q.workflow_id = $1 AND q.status = 'queued'
    ORDER BY q.priority DESC, q.created_at, q.id LIMIT 1)
RETURNING *;

-- name: ExecutionGetByIdempotencyKey :one
SELECT * FROM executions WHERE workflow_id = $1 AND idempotency_key = $2 AND user_id = $3;

-- name: ExecutionGetInternal :one
SELECT * FROM executions WHERE id = $1;

-- name: ExecutionsUnfinished :many
SELECT * FROM executions WHERE status IN ('queued', 'pending', 'running', 'waiting') ORDER BY created_at;

-- name: WorkflowVersionEngineRef :one
SELECT engine_ref, definition FROM workflow_versions WHERE workflow_id = $1 AND version = $2;

-- name: WorkflowVersionSetEngineRef :one
-- The first publisher wins; a concurrent one reads the winner's reference.
UPDATE workflow_versions SET engine_ref = coalesce(engine_ref, $3)
WHERE workflow_id = $1 AND version = $2
RETURNING engine_ref;

-- name: WorkflowVersionResetEngineRef :exec
UPDATE workflow_versions SET engine_ref = NULL WHERE workflow_id = $1 AND version = $2 AND engine_ref = $3;

-- name: StepStart :one
-- Everything a step invocation needs, in one round trip: claims the step
-- (creates its row running, or takes an existing one that is not done and
-- not held by a live lease) and returns the execution, the step's agent (owned by
-- the execution's user; NULL columns when it is gone), the attempt claimed
-- (0 when not claimed), the step's row as it was before (when not
-- claimed: done, or held by a live claim) and, if with_outputs, the outputs
-- of the completed steps by key. takeover, if set, is a claim its holder
-- gave up (it could not record its result): that claim is taken at once.
--
-- With async, the claim commits without waiting for the WAL flush (synchronous_commit
-- off for this statement's transaction only): it is visible to every other
-- session at once, and a SIGKILL of the process that sent it loses
-- nothing. Only a crash of Postgres itself can lose it, and then the
-- invocation holding it cannot record a result either (its FinishStep
-- matches no claim, or fails with the connection), so a lost claim never
-- lets a run be recorded twice. The step's result (StepComplete/StepFail)
-- keeps the synchronous commit: it is the record that makes a repeated
-- invocation safe, and its flush makes this claim durable too (WAL order).
-- Claimed in the same batch as the previous step's result
-- (FinishStepThenStart), it is not async: the batch is one transaction, and
-- that result's commit waits for the flush.
--
-- A step whose tool loop released it between two turns (StepRelease:
-- running, lease_until at the epoch) is claimed again in the same attempt
-- and keeps its start time: the turns of one attempt are one run of it.
WITH claimed AS (
    INSERT INTO execution_steps AS s (execution_id, step_key, agent_id, status, attempt, claim_id, lease_until, started_at)
    SELECT x.id, sqlc.arg(step_key)::text,
        (SELECT ag.id FROM agents ag WHERE ag.id = sqlc.arg(agent)::uuid AND ag.user_id = x.user_id),
        'running', 1, sqlc.arg(claim_id)::uuid, sqlc.arg(lease_until)::timestamptz, now()
    FROM executions x
    WHERE x.id = sqlc.arg(execution)::uuid
        AND set_config('synchronous_commit', CASE WHEN sqlc.arg(async)::bool THEN 'off' ELSE current_setting('synchronous_commit') END, true) IS NOT NULL
    ON CONFLICT (execution_id, step_key) DO UPDATE
    SET status = 'running',
        attempt = CASE WHEN s.status = 'running' AND s.lease_until = 'epoch' THEN s.attempt ELSE s.attempt + 1 END,
        claim_id = excluded.claim_id, lease_until = excluded.lease_until,
        started_at = CASE WHEN s.status = 'running' AND s.lease_until = 'epoch' THEN s.started_at ELSE now() END,
        completed_at = NULL, error = NULL, updated_at = now()
    WHERE s.status IN ('pending', 'failed') OR (s.status = 'running' AND s.lease_until < now())
        OR (s.status = 'running' AND s.claim_id = sqlc.narg(takeover)::uuid)
    RETURNING s.attempt, s.started_at
)
SELECT sqlc.embed(e), a.id AS agent_id, a.name AS agent_name, a.type AS agent_type, a.config AS agent_config,
    a.status AS agent_status, a.user_id AS agent_user_id, a.created_at AS agent_created_at, a.updated_at AS agent_updated_at,
    coalesce(c.attempt, 0)::integer AS claimed_attempt, c.started_at AS claimed_started_at,
    cur.status AS step_status, cur.attempt AS step_attempt, cur.error AS step_error, cur.claim_id AS step_claim_id,
    cur.item AS step_item,
    CASE WHEN sqlc.arg(with_outputs)::bool THEN
        (SELECT jsonb_object_agg(o.step_key, o.output) FROM execution_steps o WHERE o.execution_id = e.id AND o.status = 'completed'
            AND o.parent_key IS NULL)
    END::jsonb AS outputs
FROM executions e
LEFT JOIN agents a ON a.id = sqlc.arg(agent)::uuid AND a.user_id = e.user_id
LEFT JOIN execution_steps cur ON cur.execution_id = e.id AND cur.step_key = sqlc.arg(step_key)::text
LEFT JOIN claimed c ON true
WHERE e.id = sqlc.arg(execution)::uuid;

-- name: StepRenewLease :execrows
-- The invocation running a step keeps its claim alive while the agent runs;
-- a claim whose holder died lapses within one lease.
UPDATE execution_steps SET lease_until = sqlc.arg(lease_until)::timestamptz
WHERE execution_id = $1 AND step_key = $2 AND claim_id = $3 AND status = 'running';

-- name: StepRelease :execrows
-- Between two turns of a tool loop compiled into the state machine, the
-- invocation that ran a model turn gives up its claim: the step stays
-- running (its tool calls run as their own invocations, claiming
-- nothing) with its resolved input recorded, and the next turn's
-- invocation claims it again at once (lease_until at the epoch marks it
-- released; StepStart keeps its attempt and start time).
UPDATE execution_steps SET claim_id = NULL, lease_until = 'epoch', input = sqlc.narg(input), updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND claim_id = $3 AND status = 'running';

-- name: StepGet :one
SELECT * FROM execution_steps WHERE execution_id = $1 AND step_key = $2;

-- name: StepSetInput :exec
UPDATE execution_steps SET input = $3, updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND claim_id = $4;

-- name: StepComplete :execrows
UPDATE execution_steps SET status = 'completed', output = $3, input = sqlc.narg(input), completed_at = now(), lease_until = NULL,
    duration_ms = $5, input_tokens = $6, output_tokens = $7, cost_usd = $8, updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND claim_id = $4;

-- name: StepFail :execrows
UPDATE execution_steps SET status = 'failed', error = $3, input = sqlc.narg(input), completed_at = now(), lease_until = NULL,
    duration_ms = $5, updated_at = now()
WHERE execution_id = $1 AND step_key = $2 AND claim_id = $4;

-- name: StepsCopyCompleted :exec
-- A retry reuses the outputs of the steps that completed in the original.
INSERT INTO execution_steps (execution_id, step_key, agent_id, status, attempt, input, output, started_at, completed_at,
    duration_ms, input_tokens, output_tokens, cost_usd, reused_from, child_execution_id, parent_key, item_index, item)
SELECT sqlc.arg(new_id)::uuid, step_key, agent_id, 'completed', attempt, input, output, started_at, completed_at,
    duration_ms, 0, 0, 0, execution_id, child_execution_id, parent_key, item_index, item
FROM execution_steps WHERE execution_id = sqlc.arg(old_id)::uuid AND status = 'completed' AND step_key = ANY(sqlc.arg(keys)::text[]);

-- name: LogsAppend :exec
-- Log lines of a run (of one of its steps when step_key is set), numbered
-- after the run's last line, in one statement.
WITH seq AS (
    UPDATE executions SET log_seq = log_seq + cardinality(sqlc.arg(messages)::text[])
    WHERE executions.id = sqlc.arg(execution_id)::uuid
    RETURNING log_seq
)
INSERT INTO execution_logs (execution_id, step_key, level, message, data, sequence, created_at)
SELECT sqlc.arg(execution_id)::uuid, sqlc.narg(step_key)::text, (sqlc.arg(levels)::text[])[i], (sqlc.arg(messages)::text[])[i],
    (sqlc.arg(datas)::jsonb[])[i], seq.log_seq - cardinality(sqlc.arg(messages)::text[]) + i, (sqlc.arg(times)::timestamptz[])[i]
FROM seq, generate_series(1, cardinality(sqlc.arg(messages)::text[])) AS i;

-- name: ExecutionStatus :one
SELECT status, log_seq FROM executions WHERE id = $1 AND user_id = $2;

-- name: StepLeasesExpire :execrows
-- After a crash of the only process running steps (turbocat dev), the leases
-- it held are dead: let the resumed Tasks claim those steps at once.
UPDATE execution_steps SET lease_until = now() - interval '1 second'
WHERE status = 'running' AND lease_until > now();

-- name: LogsPrune :execrows
-- Log lines of runs that ended before the cutoff, a batch at a time.
DELETE FROM execution_logs l
WHERE l.ctid = ANY (ARRAY(
    SELECT x.ctid FROM execution_logs x JOIN executions e ON e.id = x.execution_id
    WHERE e.completed_at < sqlc.arg(before)::timestamptz
    LIMIT sqlc.arg(max_rows)::integer));

-- name: StepTurnsPrune :execrows
-- Recorded model turns and tool calls of runs that ended before the
-- cutoff (no run resumes them), a batch at a time.
DELETE FROM execution_step_turns t
WHERE t.ctid = ANY (ARRAY(
    SELECT x.ctid FROM execution_step_turns x JOIN executions e ON e.id = x.execution_id
    WHERE e.completed_at < sqlc.arg(before)::timestamptz
    LIMIT sqlc.arg(max_rows)::integer));

-- name: BudgetState :one
-- What the budgets of a run's next model call are measured against: the
-- run's bounds and spend so far, and its user's monthly budget and spend
-- this calendar month (UTC).
SELECT e.max_cost_usd, e.max_tokens,
    (SELECT coalesce(sum(s.cost_usd), 0) FROM execution_steps s WHERE s.execution_id = e.id)::float8 AS run_cost,
    (SELECT coalesce(sum(s.input_tokens + s.output_tokens), 0) FROM execution_steps s WHERE s.execution_id = e.id)::bigint AS run_tokens,
    u.monthly_budget_usd,
    (SELECT coalesce(sum(s.cost_usd), 0) FROM executions x JOIN execution_steps s ON s.execution_id = x.id
     WHERE x.user_id = e.user_id AND x.created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::float8 AS month_cost
FROM executions e JOIN users u ON u.id = e.user_id
WHERE e.id = $1;

-- name: ExecutionInsertAudited :one
-- A run and its audit row in one statement: one round trip and one commit
-- for a start that needs no queueing decision (ExecutionInsert in a
-- transaction does the others).
--
-- With an engine_ref (the engine reference the run's start will have: the
-- caller starts it on the engine next, under the run's id), the run is
-- recorded as started, running since now, with its events (a JSON array as
-- ExecutionMarkStartedWithEvents takes them): a run's start is one write,
-- not two. A process that dies before the engine start leaves a running run
-- the engine has no record of and no step of which was claimed; the
-- reconciler starts it (the engine's named start is idempotent).
WITH ins AS (
    INSERT INTO executions (id, workflow_id, workflow_version, user_id, deployment_id, trigger, input_data, idempotency_key, retry_of,
        status, priority, request_hash, max_cost_usd, max_tokens, parent_execution_id, parent_step_key, replay_of, engine_ref, started_at)
    VALUES (coalesce(sqlc.narg(id)::uuid, gen_random_uuid()), @workflow_id, @workflow_version, @user_id, @deployment_id, @trigger, @input_data, @idempotency_key, @retry_of,
        CASE WHEN sqlc.narg(engine_ref)::text IS NULL THEN @status ELSE 'running' END, @priority, @request_hash, @max_cost_usd, @max_tokens,
        @parent_execution_id, @parent_step_key, sqlc.narg(replay_of)::uuid,
        sqlc.narg(engine_ref)::text, CASE WHEN sqlc.narg(engine_ref)::text IS NULL THEN NULL ELSE now() END)
    RETURNING *
), audited AS (
    INSERT INTO audit_logs (user_id, action, resource_type, resource_id, metadata, ip, user_agent, request_id)
    SELECT sqlc.narg(audit_user_id)::uuid, sqlc.arg(audit_action)::text, 'execution', ins.id::text, sqlc.arg(audit_metadata)::jsonb,
        sqlc.arg(audit_ip)::text, sqlc.arg(audit_user_agent)::text, sqlc.arg(audit_request_id)::text
    FROM ins
), evs AS (
    INSERT INTO events (id, user_id, type, data, created_at)
    SELECT x.id, x.user_id, x.type, x.data, x.created_at
    FROM ins, jsonb_to_recordset(sqlc.arg(events)::jsonb) AS x(id uuid, user_id uuid, type text, data jsonb, created_at timestamptz)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT sqlc.embed(executions), (SELECT count(*) FROM evs)::integer AS events_written FROM ins AS executions;

-- name: ExecutionMarkStartedWithEvents :one
-- ExecutionMarkStarted and its events (a JSON array of {id, user_id, type,
-- data, created_at}) in one statement; nothing is written when the run's
-- start was recorded before. events_written counts the events written (the
-- caller wakes the outbox after the commit: see EventsNotify).
--
-- With async, the start commits without waiting for the WAL flush. The run
-- itself (ExecutionInsertAudited) was flushed before: a Postgres crash
-- that loses the start leaves a pending run without an engine reference,
-- which the reconciler starts again (the engine's named start is
-- idempotent, and a step already recorded is not run again). Any later
-- synchronous commit (the first step's result) flushes it.
WITH started AS (
    UPDATE executions SET status = CASE WHEN status = 'pending' THEN 'running' ELSE status END, engine_ref = @engine_ref,
        started_at = coalesce(started_at, now())
    WHERE executions.id = sqlc.arg(id)::uuid AND (status = 'pending' OR (status IN ('running', 'waiting') AND engine_ref IS DISTINCT FROM @engine_ref))
        AND set_config('synchronous_commit', CASE WHEN sqlc.arg(async)::bool THEN 'off' ELSE current_setting('synchronous_commit') END, true) IS NOT NULL
    RETURNING *
), evs AS (
    INSERT INTO events (id, user_id, type, data, created_at)
    SELECT x.id, x.user_id, x.type, x.data, x.created_at
    FROM started, jsonb_to_recordset(@events::jsonb) AS x(id uuid, user_id uuid, type text, data jsonb, created_at timestamptz)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT sqlc.embed(executions), (SELECT count(*) FROM evs)::integer AS events_written FROM started AS executions;

-- name: ExecutionFinishRecorded :one
-- Everything a run's end writes, in one statement: the final status (a
-- finished run is left as it is, and nothing else is written), its steps
-- that never ended skipped (never started) or cancelled (still running or
-- waiting: a branch stopped by a sibling's failure, a run cancelled or
-- timed out; nothing is left running), its events
-- and its audit row (durationMs added to audit_metadata). events_written
-- counts the events written (the caller wakes the outbox after the commit:
-- see EventsNotify).
--
-- With output_steps, the output is those completed top-level steps'
-- outputs by key (null for one that did not complete), and the events'
-- data carries it as "output": a run without an output mapping ends in
-- one round trip, without reading its steps' outputs first.
--
-- With after_claim (sent in one batch after a step's result: see
-- FinishStepThenEnd), the run ends only if the step that claim held is
-- recorded completed.
WITH finished AS (
    UPDATE executions SET status = @status, error = @error, completed_at = now(),
        output_data = CASE WHEN sqlc.narg(output_steps)::text[] IS NULL THEN @output_data ELSE
            (SELECT coalesce(jsonb_object_agg(k.key, coalesce(o.output, 'null'::jsonb)), '{}'::jsonb)
             FROM unnest(sqlc.narg(output_steps)::text[]) AS k(key)
             LEFT JOIN execution_steps o ON o.execution_id = @execution_id AND o.step_key = k.key AND o.status = 'completed' AND o.parent_key IS NULL) END,
        duration_ms = (extract(epoch FROM (now() - coalesce(started_at, created_at))) * 1000)::bigint,
        input_tokens = (SELECT coalesce(sum(s.input_tokens), 0) FROM execution_steps s WHERE s.execution_id = @execution_id),
        output_tokens = (SELECT coalesce(sum(s.output_tokens), 0) FROM execution_steps s WHERE s.execution_id = @execution_id),
        cost_usd = (SELECT coalesce(sum(s.cost_usd), 0) FROM execution_steps s WHERE s.execution_id = @execution_id)
    WHERE id = @execution_id AND status IN ('queued', 'pending', 'running', 'waiting')
        AND (sqlc.narg(after_claim)::uuid IS NULL OR EXISTS (SELECT 1 FROM execution_steps d
            WHERE d.execution_id = @execution_id AND d.claim_id = sqlc.narg(after_claim)::uuid AND d.status = 'completed'))
    RETURNING *
), ended_steps AS (
    UPDATE execution_steps SET status = CASE WHEN status = 'pending' THEN 'skipped' ELSE 'cancelled' END,
        lease_until = NULL, task_token = NULL, link_nonce = NULL, completed_at = coalesce(completed_at, now()), updated_at = now()
    WHERE execution_id = @execution_id AND status IN ('pending', 'running', 'waiting') AND EXISTS (SELECT 1 FROM finished)
), evs AS (
    INSERT INTO events (id, user_id, type, data, created_at)
    SELECT x.id, x.user_id, x.type,
        CASE WHEN sqlc.narg(output_steps)::text[] IS NULL THEN x.data ELSE x.data || jsonb_build_object('output', finished.output_data) END,
        x.created_at
    FROM finished, jsonb_to_recordset(@events::jsonb) AS x(id uuid, user_id uuid, type text, data jsonb, created_at timestamptz)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), audited AS (
    INSERT INTO audit_logs (user_id, action, resource_type, resource_id, metadata, ip, user_agent, request_id)
    SELECT coalesce(sqlc.narg(audit_user_id)::uuid, finished.user_id), 'execution.' || finished.status, 'execution', finished.id::text,
        sqlc.arg(audit_metadata)::jsonb || jsonb_build_object('durationMs', finished.duration_ms),
        sqlc.arg(audit_ip)::text, sqlc.arg(audit_user_agent)::text, sqlc.arg(audit_request_id)::text
    FROM finished
)
SELECT finished.user_id, (SELECT count(*) FROM evs)::integer AS events_written FROM finished;

-- name: ExecutionGetWithOutputs :one
-- An execution with the outputs of its completed top-level steps by key
-- (what a run's end renders its output from), in one round trip.
SELECT sqlc.embed(executions),
    (SELECT coalesce(jsonb_object_agg(o.step_key, o.output), '{}') FROM execution_steps o
     WHERE o.execution_id = executions.id AND o.status = 'completed' AND o.parent_key IS NULL)::jsonb AS outputs
FROM executions WHERE executions.id = $1;

-- name: StepFinishLogged :one
-- A step's result (StepComplete, or StepFail when failed) and its log lines
-- in one statement: the lines take the next sequence numbers of the run,
-- and nothing is written when the claim was lost.
WITH done AS (
    UPDATE execution_steps SET
        status = CASE WHEN sqlc.arg(failed)::bool THEN 'failed' ELSE 'completed' END,
        output = CASE WHEN sqlc.arg(failed)::bool THEN output ELSE sqlc.narg(output)::jsonb END,
        error = CASE WHEN sqlc.arg(failed)::bool THEN sqlc.narg(error)::jsonb ELSE error END,
        input_tokens = CASE WHEN sqlc.arg(failed)::bool THEN input_tokens ELSE sqlc.narg(input_tokens)::bigint END,
        output_tokens = CASE WHEN sqlc.arg(failed)::bool THEN output_tokens ELSE sqlc.narg(output_tokens)::bigint END,
        cost_usd = CASE WHEN sqlc.arg(failed)::bool THEN cost_usd ELSE sqlc.narg(cost_usd)::numeric END,
        input = sqlc.narg(input), completed_at = now(), lease_until = NULL, duration_ms = sqlc.narg(duration_ms)::bigint, updated_at = now()
    WHERE execution_steps.execution_id = sqlc.arg(execution_id)::uuid AND execution_steps.step_key = sqlc.arg(step_key)::text
        AND execution_steps.claim_id = sqlc.arg(claim_id)::uuid
    RETURNING execution_steps.execution_id AS finished_id
), seq AS (
    UPDATE executions SET log_seq = log_seq + cardinality(sqlc.arg(messages)::text[])
    WHERE executions.id = (SELECT done.finished_id FROM done)
    RETURNING log_seq
), logged AS (
    INSERT INTO execution_logs (execution_id, step_key, level, message, data, sequence, created_at)
    SELECT sqlc.arg(execution_id)::uuid, sqlc.arg(step_key)::text, (sqlc.arg(levels)::text[])[i], (sqlc.arg(messages)::text[])[i],
        (sqlc.arg(datas)::jsonb[])[i], seq.log_seq - cardinality(sqlc.arg(messages)::text[]) + i, (sqlc.arg(times)::timestamptz[])[i]
    FROM seq, generate_series(1, cardinality(sqlc.arg(messages)::text[])) AS i
)
SELECT count(*)::integer FROM done;

-- name: StepTurnInsert :exec
-- Records one model turn or tool call of a step's tool loop; recording the
-- same one again (a duplicate invocation) keeps the first.
INSERT INTO execution_step_turns (execution_id, step_key, attempt, turn, seq, kind, tool_call_id, tool_name, model,
    input, output, error, input_tokens, output_tokens, cost_usd, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (execution_id, step_key, turn, seq, attempt) DO NOTHING;

-- name: StepTurnsLatest :many
-- What a step's tool loop recorded: for each turn and seq, the latest
-- attempt's record.
SELECT DISTINCT ON (turn, seq) * FROM execution_step_turns
WHERE execution_id = $1 AND step_key = $2
ORDER BY turn, seq, attempt DESC;

-- name: StepTurnsList :many
-- Every recorded turn of a step of one of the user's executions, every
-- attempt, in order.
SELECT t.* FROM execution_step_turns t JOIN executions e ON e.id = t.execution_id
WHERE t.execution_id = $1 AND t.step_key = $2 AND e.user_id = $3
ORDER BY t.attempt, t.turn, t.seq;
