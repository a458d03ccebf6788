CREATE TABLE events (
  position bigserial PRIMARY KEY,
  stream text NOT NULL,
  version bigint NOT NULL,
  event_type text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  payload bytea NOT NULL,
  hash bytea NOT NULL,
  UNIQUE (stream, version)
);
