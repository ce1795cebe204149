-- Up Migration

-- The reference profile Vigil computed from a version's reference data at registration (never read
-- from the artifact): per-feature numeric and categorical profiles, prediction and label distributions.
ALTER TABLE model_versions ADD COLUMN profile jsonb;

-- Down Migration
ALTER TABLE model_versions DROP COLUMN profile;
