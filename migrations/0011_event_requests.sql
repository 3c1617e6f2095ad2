-- What Stripe's events say beyond the object: the request that made the change, and what an update changed.
--
-- `request_id` and `idempotency_key` are the API request's `Request-Id` and `Idempotency-Key` (Stripe's
-- `request.id` and `request.idempotency_key`), NULL for a change the service made on its own (the sweeper, a
-- recharge run, recovery at start). `previous_snapshot` is, for an `*.updated` event, the object before the change
-- in the form of `snapshot`: GET /v1/events serves the fields that differ as `data.previous_attributes`.
-- Columns added at the end, NULL in every existing row: SQLite changes only the schema.
ALTER TABLE events ADD COLUMN previous_snapshot TEXT;
ALTER TABLE events ADD COLUMN request_id TEXT;
ALTER TABLE events ADD COLUMN idempotency_key TEXT;
