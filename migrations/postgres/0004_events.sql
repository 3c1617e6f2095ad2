-- PostgreSQL translation of migrations/0004_events.sql.
-- Like 0001_initial.sql, events carry an explicit rowid (SQLite's hidden one) and the view's days and text sort as
-- SQLite's do (see 0002_reports.sql).
--
-- Events: every change of a payment or setup intent, charge, refund, customer or payment method, written in the same transaction
-- as the change (an outbox), served by GET /v1/events with Stripe's event shape and kept 30 days (the sweeper
-- prunes older ones). `snapshot` is the object's state right after the change, as JSON.
CREATE TABLE events (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL,
    created BIGINT NOT NULL,
    type TEXT NOT NULL,
    object_type TEXT NOT NULL CHECK (object_type IN ('payment_intent', 'charge', 'refund', 'customer', 'payment_method',
        'setup_intent')),
    object_id TEXT NOT NULL,
    snapshot TEXT NOT NULL
);

-- Lists (newest first, by created and insertion) and the sweeper's pruning of the oldest.
CREATE INDEX events_created ON events (created, rowid);
-- GET /v1/events?type=... and types[]=...
CREATE INDEX events_type_created ON events (type, created, rowid);

-- Event counts by UTC day and type: what changed, and how often.
CREATE VIEW report_events_by_day AS
SELECT
    to_char(to_timestamp(created) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE "C" AS day,
    type COLLATE "C" AS type,
    count(*) AS events
FROM events
GROUP BY 1, 2
ORDER BY 1, 2;
