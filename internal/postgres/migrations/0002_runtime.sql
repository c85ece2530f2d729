-- The local Step Functions runtime's journal (internal/runtime): state
-- machines with their versions and aliases, executions, and every history
-- event, so `turbocat dev` can resume unfinished executions after a restart.

CREATE TABLE runtime_state_machines (
    arn        text PRIMARY KEY,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runtime_executions (
    arn               text PRIMARY KEY,
    state_machine_arn text NOT NULL,
    status            text NOT NULL,
    start_date        timestamptz NOT NULL,
    doc               jsonb NOT NULL
);

CREATE INDEX runtime_executions_running ON runtime_executions (start_date) WHERE status = 'RUNNING';

CREATE TABLE runtime_events (
    execution_arn text NOT NULL REFERENCES runtime_executions (arn) ON DELETE CASCADE,
    id            bigint NOT NULL,
    event         jsonb NOT NULL,
    PRIMARY KEY (execution_arn, id)
);
