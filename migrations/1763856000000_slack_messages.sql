-- Up Migration

-- The Slack message asking for an incident's approval. The row is claimed before posting, so a retried
-- activity never posts a second message: a claimed row without ts means an earlier attempt may have
-- posted without hearing back, and the channel's history is searched (by message metadata) first.
CREATE TABLE slack_messages (
  incident_id   text PRIMARY KEY,
  -- The channel id Slack answered with (the configured name until then).
  channel       text NOT NULL,
  ts            text,
  claimed_at    timestamptz NOT NULL DEFAULT now(),
  posted_at     timestamptz,
  -- Timeline length of the incident state the message shows: an older state never overwrites a newer one.
  rendered_seq  integer NOT NULL DEFAULT 0
);

-- Replies in the message's thread (phase changes, escalations), once each, claimed the same way.
CREATE TABLE slack_thread_replies (
  incident_id  text NOT NULL REFERENCES slack_messages (incident_id) ON DELETE CASCADE,
  reply_key    text NOT NULL,
  ts           text,
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  posted_at    timestamptz,
  PRIMARY KEY (incident_id, reply_key)
);

-- Down Migration
DROP TABLE slack_thread_replies;
DROP TABLE slack_messages;
