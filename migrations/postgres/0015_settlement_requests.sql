-- PostgreSQL translation of migrations/0015_settlement_requests.sql: a capture or release asked of the card network
-- and not recorded yet, as JSON TEXT checked by json_valid() (see 0001_initial.sql). A nullable column without a
-- default: PostgreSQL changes only the catalog; the partial index holds only the rows that have one.
ALTER TABLE payment_intents ADD COLUMN settling TEXT CHECK (settling IS NULL OR json_valid(settling));
CREATE INDEX payment_intents_settling ON payment_intents (created) WHERE settling IS NOT NULL;
