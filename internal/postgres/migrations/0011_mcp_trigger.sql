-- Runs started by an MCP client through /mcp carry their own trigger,
-- 'mcp', so they can be told from API calls (GET /executions?trigger=mcp).
ALTER TABLE executions DROP CONSTRAINT executions_trigger_check;
ALTER TABLE executions ADD CONSTRAINT executions_trigger_check
    CHECK (trigger IN ('api', 'webhook', 'schedule', 'retry', 'workflow', 'replay', 'mcp'));
