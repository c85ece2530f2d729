-- Replay: a run of a workflow version against a finished run's recorded
-- model and API responses. A replay is an execution of its own (trigger
-- 'replay') that names the run whose recordings it uses; its api and llm
-- steps take the source's recorded outputs instead of calling out, its
-- code steps run.
ALTER TABLE executions ADD COLUMN replay_of uuid REFERENCES executions (id) ON DELETE SET NULL;
CREATE INDEX executions_replay_of_idx ON executions (replay_of) WHERE replay_of IS NOT NULL;

ALTER TABLE executions DROP CONSTRAINT executions_trigger_check;
ALTER TABLE executions ADD CONSTRAINT executions_trigger_check
    CHECK (trigger IN ('api', 'webhook', 'schedule', 'retry', 'workflow', 'replay'));
