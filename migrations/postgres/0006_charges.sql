-- PostgreSQL translation of migrations/0006_charges.sql.
-- Indexes on times also hold the rowid (see 0001_initial.sql).
--
-- Charges as an API resource (GET /v1/charges, GET /v1/charges/:id), and refunds the card network settles later.
--
-- 1. A charge keeps what Stripe shows on it and the intent may change afterwards: the intent's description and
--    metadata when the attempt was made, Radar's risk level (`outcome.risk_level`) and the issuer's verification
--    checks (`payment_method_details.card.checks`); NULL for a check whose datum the payment did not carry, and
--    for charges made before this migration.
--    `amount_refunded` stays what refunds gave back (so it never exceeds `amount_captured`, the CHECK of
--    0001_initial.sql); the API's `amount_refunded` adds the remainder a partial capture released
--    (`amount - amount_captured` once captured), as Stripe counts it.
-- 2. The charge list pages by (created, rowid) newest first, filtered by customer or payment intent:
--    `charges_by_payment_intent (payment_intent, created)` exists; the unfiltered list and the customer filter get
--    theirs here.
-- 3. A refund's network status may change after its first answer (test card 4000000000007726: pending, then
--    succeeded; 4000000000005126: succeeded, then failed). `settles_at` is when the network said to ask again, and
--    the sweeper reads the refunds due through `refunds_settling`. `failure_reason` is Stripe's, for a failed refund.
-- 4. The sweeper's crash recovery of refunds reads only refunds the network never answered (pending with no
--    `settles_at`): `refunds_unanswered` replaces `refunds_pending`, which also held refunds the network had
--    answered `pending`.

ALTER TABLE charges ADD COLUMN description TEXT;
ALTER TABLE charges ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata));
ALTER TABLE charges ADD COLUMN risk_level TEXT CHECK (risk_level IN ('normal', 'elevated', 'highest'));
ALTER TABLE charges ADD COLUMN cvc_check TEXT CHECK (cvc_check IN ('pass', 'fail', 'unavailable', 'unchecked'));
ALTER TABLE charges ADD COLUMN address_line1_check TEXT
    CHECK (address_line1_check IN ('pass', 'fail', 'unavailable', 'unchecked'));
ALTER TABLE charges ADD COLUMN address_postal_code_check TEXT
    CHECK (address_postal_code_check IN ('pass', 'fail', 'unavailable', 'unchecked'));

CREATE INDEX charges_by_created ON charges (created, rowid);
CREATE INDEX charges_by_customer ON charges (customer, created, rowid) WHERE customer IS NOT NULL;

ALTER TABLE refunds ADD COLUMN failure_reason TEXT;
ALTER TABLE refunds ADD COLUMN settles_at BIGINT;

CREATE INDEX refunds_settling ON refunds (settles_at, rowid) WHERE settles_at IS NOT NULL;
DROP INDEX refunds_pending;
CREATE INDEX refunds_unanswered ON refunds (created, rowid) WHERE status = 'pending' AND settles_at IS NULL;
