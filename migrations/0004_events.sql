-- Events: every change of a payment or setup intent, charge, refund, customer or payment method, written in the same transaction
-- as the change (an outbox), served by GET /v1/events with Stripe's event shape and kept 30 days (the sweeper
-- prunes older ones). `snapshot` is the object's state right after the change, as JSON.
CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    created INTEGER NOT NULL,
    type TEXT NOT NULL,
    object_type TEXT NOT NULL CHECK (object_type IN ('payment_intent', 'charge', 'refund', 'customer', 'payment_method',
        'setup_intent')),
    object_id TEXT NOT NULL,
    snapshot TEXT NOT NULL
) STRICT;

-- Lists (newest first, by created and insertion) and the sweeper's pruning of the oldest.
CREATE INDEX events_created ON events (created);
-- GET /v1/events?type=... and types[]=...
CREATE INDEX events_type_created ON events (type, created);

-- Event counts by UTC day and type: what changed, and how often.
CREATE VIEW report_events_by_day AS
SELECT
    strftime('%Y-%m-%d', created, 'unixepoch') AS day,
    type,
    count(*) AS events
FROM events
GROUP BY day, type
ORDER BY day, type;
