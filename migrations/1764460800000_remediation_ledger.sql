-- Up Migration
-- What a model-changing remediation decided before it acted (a retry follows it instead of re-reading a
-- registry it already changed), and which open incident may change a model's versions (one at a time).
CREATE TABLE remediation_plans (
  idempotency_key text PRIMARY KEY,
  model_id        text NOT NULL,
  action          text NOT NULL CHECK (action IN ('rollback')),
  from_version    integer NOT NULL,
  to_version      integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_change_claims (
  model_id    text PRIMARY KEY,
  incident_id text NOT NULL,
  claimed_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE model_change_claims;
DROP TABLE remediation_plans;
