-- PostgreSQL translation of migrations/0012_charge_receipts.sql: the receipt address and statement descriptors a
-- charge copies from its PaymentIntent. Nullable columns without a default: PostgreSQL changes only the catalog.
ALTER TABLE charges ADD COLUMN receipt_email TEXT;
ALTER TABLE charges ADD COLUMN statement_descriptor TEXT;
ALTER TABLE charges ADD COLUMN statement_descriptor_suffix TEXT;
