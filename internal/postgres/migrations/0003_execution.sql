-- Running workflows: the engine's reference to each published workflow
-- version, and leases that make the step runner idempotent under
-- at-least-once Task delivery.

ALTER TABLE workflow_versions ADD COLUMN engine_ref text;

-- A step invocation claims its row with a lease; a second invocation of the
-- same step waits for the first one's result instead of running the agent
-- again, unless the lease expired (the first one crashed).
ALTER TABLE execution_steps
    ADD COLUMN claim_id    uuid,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();

CREATE INDEX execution_steps_running_idx ON execution_steps (lease_until) WHERE status = 'running';
