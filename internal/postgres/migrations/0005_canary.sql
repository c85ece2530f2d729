-- Canary deployments: a share of runs goes to the new version, the rest to
-- the previous one, until the deployment is promoted (redeployed without a
-- canary) or rolled back.
ALTER TABLE deployments ADD COLUMN canary_weight integer CHECK (canary_weight BETWEEN 1 AND 99);
