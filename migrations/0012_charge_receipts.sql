-- What Stripe copies from a PaymentIntent onto each of its charges besides the description and metadata: the
-- address the receipt goes to and the statement descriptors. `receipt_email` and `statement_descriptor(_suffix)` as
-- the intent held them when the attempt was made; NULL in every existing row (their charges were made without them).
-- Columns added at the end: SQLite changes only the schema.
ALTER TABLE charges ADD COLUMN receipt_email TEXT;
ALTER TABLE charges ADD COLUMN statement_descriptor TEXT;
ALTER TABLE charges ADD COLUMN statement_descriptor_suffix TEXT;
