-- Up Migration

-- Predictions and labels sent over HTTP (POST /v1/models/{model}/predictions, /labels) by serving
-- layers Vigil does not run, of any task type.

-- One prediction per (model, request id): a batch sent twice is stored once (INSERT … ON CONFLICT DO
-- NOTHING). Rows without a request id (older simulator rows) are not constrained. The unique index,
-- predictions_request, is built CONCURRENTLY, outside a transaction, by 1764374400000_prediction_log_indexes.ts:
-- building it here held a lock that stopped every write to the log for the whole build (databases
-- migrated before have it from here, and that migration leaves it as it is).

-- Binary rows keep score / predicted / label (0 = negative, 1 = positive) as before. Multiclass and
-- regression rows carry the prediction as sent ({"label", "probabilities"?} or {"value"}) and their
-- label as a JSON value (a class, or a number); score and predicted stay null on them.
ALTER TABLE predictions
  ALTER COLUMN score DROP NOT NULL,
  ALTER COLUMN predicted DROP NOT NULL,
  ADD COLUMN prediction jsonb,
  ADD COLUMN label_value jsonb,
  ADD CONSTRAINT predictions_has_prediction CHECK ((score IS NOT NULL AND predicted IS NOT NULL) OR prediction IS NOT NULL);

-- A label that arrived before its prediction waits here until the prediction lands (and takes it in
-- the same transaction), or until expires_at (ingest.labelGrace after it was received).
CREATE TABLE pending_labels (
  model_id     text NOT NULL,
  request_id   text NOT NULL,
  label        smallint,
  label_value  jsonb,
  labeled_at   timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (model_id, request_id),
  CHECK (label IS NOT NULL OR label_value IS NOT NULL)
);
CREATE INDEX pending_labels_expiry ON pending_labels (model_id, expires_at);

-- Down Migration
DROP TABLE pending_labels;
-- Multiclass and regression rows cannot be kept without their columns.
DELETE FROM predictions WHERE score IS NULL OR predicted IS NULL;
ALTER TABLE predictions
  DROP CONSTRAINT predictions_has_prediction,
  DROP COLUMN label_value,
  DROP COLUMN prediction,
  ALTER COLUMN predicted SET NOT NULL,
  ALTER COLUMN score SET NOT NULL;
