-- Turbocat's foundation schema: accounts and credentials, agents, templates,
-- workflows and their immutable versions, executions with per-step state and
-- logs, deployments, secrets and the audit log. Every user-owned row carries
-- user_id; every list query has an index that starts with it.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    full_name     text NOT NULL DEFAULT '' CHECK (length(full_name) <= 200),
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

-- Refresh tokens rotate on every use; all tokens descended from one login
-- share a family, and reusing a rotated token revokes the whole family.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL,
    scopes       text[] NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC, id DESC);

-- Templates with no owner are built in and visible to everyone.
CREATE TABLE templates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('agent', 'workflow')),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT '',
    agent_type  text CHECK (agent_type IN ('code', 'api', 'llm')),
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'agent') = (agent_type IS NOT NULL))
);
CREATE UNIQUE INDEX templates_owner_name_key ON templates (user_id, name) NULLS NOT DISTINCT;
CREATE INDEX templates_list_idx ON templates (user_id, created_at DESC, id DESC);

CREATE TABLE agents (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Deleting a template leaves the agents made from it.
    template_id uuid REFERENCES templates (id) ON DELETE SET NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    type        text NOT NULL CHECK (type IN ('code', 'api', 'llm')),
    config      jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
CREATE INDEX agents_list_idx ON agents (user_id, created_at DESC, id DESC);

CREATE TABLE workflows (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text NOT NULL DEFAULT '',
    -- The whole definition as submitted (input schema, output mapping,
    -- steps), the seed's Workflows.definition.
    definition   jsonb NOT NULL,
    schedule     text,
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
CREATE INDEX workflows_list_idx ON workflows (user_id, created_at DESC, id DESC);

-- The current version's steps, one row each. An agent used by a step cannot be
-- deleted (RESTRICT): the API answers 409 and names the workflow.
CREATE TABLE workflow_steps (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id             uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    agent_id                uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    step_key                text NOT NULL,
    position                integer NOT NULL,
    depends_on              text[] NOT NULL DEFAULT '{}',
    inputs                  jsonb NOT NULL DEFAULT '{}',
    retry_max_attempts      integer CHECK (retry_max_attempts BETWEEN 0 AND 20),
    retry_interval_seconds  integer CHECK (retry_interval_seconds BETWEEN 1 AND 3600),
    retry_backoff_rate      double precision CHECK (retry_backoff_rate BETWEEN 1 AND 10),
    retry_max_delay_seconds integer CHECK (retry_max_delay_seconds BETWEEN 1 AND 86400),
    retry_errors            text[],
    timeout_seconds         integer CHECK (timeout_seconds BETWEEN 1 AND 86400),
    UNIQUE (workflow_id, step_key),
    UNIQUE (workflow_id, position)
);
CREATE INDEX workflow_steps_agent_idx ON workflow_steps (agent_id);

-- Every version of a workflow, immutable: executions and deployments name the
-- version they ran, and a retry reruns exactly that version.
CREATE TABLE workflow_versions (
    workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE deployments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id        uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    environment        text NOT NULL CHECK (environment ~ '^[a-z][a-z0-9-]{0,31}$'),
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'failed', 'inactive')),
    version            integer NOT NULL,
    previous_version   integer,
    endpoint_url       text,
    state_machine_ref  text,
    version_ref        text,
    alias_ref          text,
    schedule           text,
    timezone           text,
    signing_secret_enc bytea,
    error              text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    activated_at       timestamptz
);
CREATE UNIQUE INDEX deployments_one_active_key ON deployments (workflow_id, environment) WHERE status = 'active';
CREATE INDEX deployments_list_idx ON deployments (user_id, created_at DESC, id DESC);
CREATE INDEX deployments_workflow_idx ON deployments (workflow_id);

CREATE TABLE executions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Deleting a workflow deletes its history.
    workflow_id      uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    workflow_version integer NOT NULL,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    deployment_id    uuid REFERENCES deployments (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'timed_out')),
    trigger          text NOT NULL CHECK (trigger IN ('api', 'webhook', 'schedule', 'retry')),
    input_data       jsonb NOT NULL DEFAULT '{}',
    output_data      jsonb,
    error            jsonb,
    idempotency_key  text,
    retry_of         uuid REFERENCES executions (id) ON DELETE SET NULL,
    engine_ref       text,
    log_seq          bigint NOT NULL DEFAULT 0,
    input_tokens     bigint NOT NULL DEFAULT 0,
    output_tokens    bigint NOT NULL DEFAULT 0,
    cost_usd         numeric(14, 6) NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    duration_ms      bigint,
    FOREIGN KEY (workflow_id, workflow_version) REFERENCES workflow_versions (workflow_id, version) ON DELETE CASCADE
);
CREATE UNIQUE INDEX executions_idempotency_key ON executions (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_list_idx ON executions (user_id, created_at DESC, id DESC);
CREATE INDEX executions_workflow_idx ON executions (workflow_id, created_at DESC, id DESC);
CREATE INDEX executions_active_idx ON executions (status) WHERE status IN ('pending', 'running');

CREATE TABLE execution_steps (
    execution_id  uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    step_key      text NOT NULL,
    agent_id      uuid REFERENCES agents (id) ON DELETE SET NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    attempt       integer NOT NULL DEFAULT 0,
    input         jsonb,
    output        jsonb,
    error         jsonb,
    started_at    timestamptz,
    completed_at  timestamptz,
    duration_ms   bigint,
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cost_usd      numeric(14, 6) NOT NULL DEFAULT 0,
    reused_from   uuid REFERENCES executions (id) ON DELETE SET NULL,
    PRIMARY KEY (execution_id, step_key)
);

CREATE TABLE execution_logs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    step_key     text,
    level        text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message      text NOT NULL,
    data         jsonb,
    sequence     bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (execution_id, sequence)
);

-- Secret values are encrypted by the application (AES-256-GCM) before they
-- reach the database; the API never returns them.
CREATE TABLE secrets (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$'),
    value_enc  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

-- Audit rows outlive the user they name.
CREATE TABLE audit_logs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL DEFAULT '',
    metadata      jsonb NOT NULL DEFAULT '{}',
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    request_id    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, created_at DESC, id DESC);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id);
CREATE INDEX audit_logs_created_idx ON audit_logs (created_at DESC, id DESC);
