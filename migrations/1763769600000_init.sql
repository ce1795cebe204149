-- Up Migration

-- Built-in model registry: models, versions with metrics, aliases (champion, ...).
CREATE TABLE models (
  id            text PRIMARY KEY,
  display_name  text NOT NULL,
  tier          text NOT NULL,
  -- 'model' serves the champion; 'fallback' serves the rules-based default.
  serving_mode  text NOT NULL DEFAULT 'model' CHECK (serving_mode IN ('model', 'fallback')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
  model_id        text NOT NULL REFERENCES models(id),
  version         integer NOT NULL,
  artifact_uri    text NOT NULL,
  metrics         jsonb NOT NULL DEFAULT '{}',
  -- 'healthy' once it served without incident; 'bad' once an incident blamed it.
  status          text NOT NULL DEFAULT 'registered' CHECK (status IN ('registered', 'healthy', 'bad')),
  source          text NOT NULL,
  idempotency_key text UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, version)
);

CREATE TABLE model_aliases (
  model_id    text NOT NULL,
  alias       text NOT NULL,
  version     integer NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
);

-- Every alias move and serving-mode change: the deployment history triage correlates with.
CREATE TABLE registry_events (
  id              bigserial PRIMARY KEY,
  model_id        text NOT NULL REFERENCES models(id),
  kind            text NOT NULL CHECK (kind IN ('alias_set', 'serving_mode')),
  alias           text,
  from_version    integer,
  to_version      integer,
  detail          jsonb NOT NULL DEFAULT '{}',
  idempotency_key text UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_events_model_time ON registry_events (model_id, created_at);

-- Projection of each incident workflow's state, for listing without a worker.
CREATE TABLE incidents (
  id                 text PRIMARY KEY,
  model_id           text NOT NULL,
  -- (model, failure-mode family) of the opening signal: one open incident per key.
  dedupe_key         text NOT NULL,
  signal             text NOT NULL,
  status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  phase              text NOT NULL DEFAULT 'detected',
  failure_mode       text,
  severity           text,
  recommended_action text,
  outcome            text,
  state              jsonb NOT NULL DEFAULT '{}',
  -- Timeline length of the projected state: a late write of an older snapshot never wins.
  seq                integer NOT NULL DEFAULT 0,
  opened_at          timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  closed_at          timestamptz
);
CREATE UNIQUE INDEX incidents_one_open_per_key ON incidents (dedupe_key) WHERE status = 'open';
CREATE INDEX incidents_model ON incidents (model_id, opened_at DESC);

-- Append-only audit log. idempotency_key (workflow id + activity id, or a client key) makes retries
-- write once.
CREATE TABLE audit_events (
  id              bigserial PRIMARY KEY,
  incident_id     text,
  kind            text NOT NULL,
  actor           text NOT NULL,
  detail          jsonb NOT NULL DEFAULT '{}',
  idempotency_key text UNIQUE,
  occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_incident ON audit_events (incident_id, id);

CREATE TABLE reviews (
  incident_id    text PRIMARY KEY,
  markdown       text NOT NULL,
  data           jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  signed_off_by  text,
  signed_off_at  timestamptz
);

-- Prediction log written by the serving path (here: the example's traffic simulator), with feedback.
CREATE TABLE predictions (
  id             bigserial PRIMARY KEY,
  model_id       text NOT NULL,
  model_version  integer,
  served_by      text NOT NULL CHECK (served_by IN ('model', 'fallback')),
  ts             timestamptz NOT NULL DEFAULT now(),
  features       jsonb NOT NULL,
  score          double precision NOT NULL,
  predicted      smallint NOT NULL,
  label          smallint,
  labeled_at     timestamptz
);
CREATE INDEX predictions_model_time ON predictions (model_id, ts DESC);

-- Training jobs by their deterministic id (derived from the incident), so a retry finds the same job.
CREATE TABLE training_jobs (
  job_id       text PRIMARY KEY,
  model_id     text NOT NULL,
  incident_id  text,
  backend      text NOT NULL,
  status       text NOT NULL,
  spec         jsonb NOT NULL,
  result       jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE training_jobs;
DROP TABLE predictions;
DROP TABLE reviews;
DROP TABLE audit_events;
DROP TABLE incidents;
DROP TABLE registry_events;
DROP TABLE model_aliases;
DROP TABLE model_versions;
DROP TABLE models;
