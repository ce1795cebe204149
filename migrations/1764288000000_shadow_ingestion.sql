-- Up Migration

-- Shadow answers sent over HTTP (a prediction row with "servedBy": "shadow") are stored once per
-- (model, version, request id), like served rows once per (model, request id): a batch sent twice is
-- stored once (INSERT … ON CONFLICT DO NOTHING). Copies already there (none are expected) keep the first.
-- The unique index, shadow_predictions_request, is built CONCURRENTLY by 1764374400000_prediction_log_indexes.ts
-- (databases migrated before have it from here).
DELETE FROM shadow_predictions a
 USING shadow_predictions b
 WHERE a.model_id = b.model_id AND a.model_version = b.model_version AND a.request_id = b.request_id AND a.id > b.id;

-- Down Migration
DROP INDEX IF EXISTS shadow_predictions_request;
