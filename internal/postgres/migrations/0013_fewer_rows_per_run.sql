-- Fewer rows and index entries per run (issue 19: Postgres's time goes to
-- the rows a run writes, not to the statements that carry them).
--
-- 1. The local runtime journal keeps an execution's history events as one
--    row per write (a JSON array of the events the runtime journaled
--    together), not one row per event: a one-step run's seven events were
--    seven rows, seven index entries and seven foreign-key checks.
CREATE TABLE runtime_event_batches (
    execution_arn text NOT NULL REFERENCES runtime_executions (arn) ON DELETE CASCADE,
    first_id      bigint NOT NULL,
    events        jsonb NOT NULL CHECK (jsonb_typeof(events) = 'array'),
    PRIMARY KEY (execution_arn, first_id)
);
INSERT INTO runtime_event_batches (execution_arn, first_id, events)
SELECT execution_arn, min(id), jsonb_agg(event ORDER BY id) FROM runtime_events GROUP BY execution_arn;
DROP TABLE runtime_events;

-- 2. The outbox deletes an event once it was handed on (nothing reads a
--    dispatched event; they were kept only to be pruned), and a claim's
--    lease is a column no index covers, so that claiming an event is a
--    heap-only update (fillfactor leaves room on its page) instead of a
--    new row version in every index.
DELETE FROM events WHERE dispatched_at IS NOT NULL;
DROP INDEX events_dispatched_idx;
DROP INDEX events_due_idx;
ALTER TABLE events DROP COLUMN dispatched_at;
ALTER TABLE events ADD COLUMN leased_until timestamptz;
CREATE INDEX events_due_idx ON events (next_attempt_at);
ALTER TABLE events SET (fillfactor = 70);
