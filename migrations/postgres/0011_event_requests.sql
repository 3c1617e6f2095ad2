-- PostgreSQL translation of migrations/0011_event_requests.sql: the request that made an event's change, and an
-- update's object before the change. Nullable columns without a default: PostgreSQL changes only the catalog.
ALTER TABLE events ADD COLUMN previous_snapshot TEXT;
ALTER TABLE events ADD COLUMN request_id TEXT;
ALTER TABLE events ADD COLUMN idempotency_key TEXT;
