-- Up Migration

-- A canary may run in shadow: it scores every request the stable model serves, and its answers are
-- logged beside the served ones but never returned. Judged on the same requests, with the same labels.
ALTER TABLE model_canaries ADD COLUMN mode text NOT NULL DEFAULT 'split' CHECK (mode IN ('split', 'shadow'));

-- The serving path's id for a request, so a shadow answer can be matched to the served one (and its label).
-- Its index, predictions_request, is built without locking the log by 1764374400000_prediction_log_indexes.ts
-- (this migration built it here, inside its transaction, before; databases migrated then keep theirs).
ALTER TABLE predictions ADD COLUMN request_id text;

CREATE TABLE shadow_predictions (
  id             bigserial PRIMARY KEY,
  model_id       text NOT NULL,
  model_version  integer NOT NULL,
  request_id     text NOT NULL,
  ts             timestamptz NOT NULL,
  score          double precision NOT NULL,
  predicted      smallint NOT NULL
);
CREATE INDEX shadow_predictions_model_time ON shadow_predictions (model_id, model_version, ts);

-- Down Migration
DROP TABLE shadow_predictions;
DROP INDEX IF EXISTS predictions_request;
ALTER TABLE predictions DROP COLUMN request_id;
ALTER TABLE model_canaries DROP COLUMN mode;
