-- Fault tolerance: a run that ends records every step that did not finish
-- as cancelled, never leaves it running.
ALTER TABLE execution_steps DROP CONSTRAINT execution_steps_status_check;
ALTER TABLE execution_steps ADD CONSTRAINT execution_steps_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled'));
