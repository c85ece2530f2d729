-- The local runtime journal keeps each state machine definition an
-- execution runs once, by its SHA-256, instead of in every record of every
-- execution (issue 19: the definition was most of each record's bytes, and
-- writing it twice per run cost a fifth of the webhook path's throughput).
-- Records written before keep their definition inline.
CREATE TABLE runtime_definitions (
    sha256     text PRIMARY KEY,
    definition text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
