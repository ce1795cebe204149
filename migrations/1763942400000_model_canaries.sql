-- Up Migration

-- The canary the built-in deployment target runs for a model, at most one: `percent` of the traffic
-- goes to this version, the rest stays on the registry's champion. No row: the champion takes it all.
-- (No foreign key to model_versions: a model's versions may live in MLflow.)
CREATE TABLE model_canaries (
  model_id      text PRIMARY KEY REFERENCES models(id),
  version       integer NOT NULL,
  artifact_uri  text NOT NULL,
  percent       integer NOT NULL CHECK (percent BETWEEN 1 AND 100),
  started_at    timestamptz NOT NULL DEFAULT now(),
  reason        text
);

-- Every change the built-in deployment target made, under its idempotency key: a retried activity
-- finds its first change here and makes none. Also the routing history triage can correlate with.
CREATE TABLE deployment_changes (
  idempotency_key text PRIMARY KEY,
  model_id        text NOT NULL,
  op              text NOT NULL CHECK (op IN ('startCanary', 'promoteCanary', 'rollbackCanary', 'rollout', 'setFallback')),
  -- The desired serving (DesiredServing) before and after the change.
  before          jsonb NOT NULL,
  after           jsonb NOT NULL,
  reason          text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployment_changes_model_time ON deployment_changes (model_id, created_at);

-- Down Migration
DROP TABLE deployment_changes;
DROP TABLE model_canaries;
