-- A deployment carries the input of the runs it starts without one of
-- their own: every schedule fire, and API or webhook calls with no input.
-- It is checked against the deployed version's inputSchema at deploy time.
ALTER TABLE deployments ADD COLUMN input jsonb;

-- Runs of a deployment by trigger: the deployments page lists the schedule
-- fires that failed to start.
CREATE INDEX executions_deployment_idx ON executions (deployment_id, created_at DESC) WHERE deployment_id IS NOT NULL;
