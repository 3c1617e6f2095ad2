-- A capture or a release of an authorization that the card network was asked for and whose answer is not recorded
-- yet (`SettlementRequest`): JSON text on the intent (`{"operation":"capture","reference":"req_...","amount":600,
-- "requested_at":1767225600,...}`), written before the network is asked, NULL again once the intent leaves
-- `requires_capture`. A process that died in between leaves it, and the sweeper asks the network again under the
-- same reference and records the answer. NULL in every existing row; a column added at the end: SQLite changes only
-- the schema. The partial index finds the few rows that hold one without reading the others.
ALTER TABLE payment_intents ADD COLUMN settling TEXT CHECK (settling IS NULL OR json_valid(settling));
CREATE INDEX payment_intents_settling ON payment_intents (created) WHERE settling IS NOT NULL;
