-- LLM agents call tools (other agents of their owner) in a loop of model
-- turns, each turn durable.

-- An agent's inputSchema (JSON Schema) is its parameters when an LLM agent
-- uses it as a tool.
ALTER TABLE agents ADD COLUMN input_schema jsonb;

-- Every model turn (seq 0) and tool call (seq i+1 for the turn's i-th call)
-- of a step's tool loop, recorded as it ends: a retry or a restart replays
-- what is recorded and resumes at the first unrecorded turn, so no model
-- call is paid twice. Each attempt records its own rows; the loop reads,
-- for each (turn, seq), the latest attempt's.
CREATE TABLE execution_step_turns (
    execution_id  uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    step_key      text NOT NULL,
    attempt       integer NOT NULL,
    turn          integer NOT NULL CHECK (turn >= 0),
    seq           integer NOT NULL CHECK (seq >= 0),
    kind          text NOT NULL CHECK (kind IN ('model', 'tool')),
    tool_call_id  text,
    tool_name     text,
    model         text,
    input         jsonb,
    output        jsonb,
    error         jsonb,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cost_usd      numeric(14, 6) NOT NULL DEFAULT 0,
    duration_ms   bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, step_key, turn, seq, attempt)
);
