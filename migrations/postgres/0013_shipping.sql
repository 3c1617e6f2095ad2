-- PostgreSQL translation of migrations/0013_shipping.sql: a PaymentIntent's and a charge's `shipping`, a customer's
-- `address` and `shipping`, as JSON TEXT checked by json_valid() (see 0001_initial.sql: TEXT keeps the service's
-- bytes, which jsonb would reorder). Nullable columns without a default: PostgreSQL changes only the catalog.
ALTER TABLE payment_intents ADD COLUMN shipping TEXT CHECK (shipping IS NULL OR json_valid(shipping));
ALTER TABLE charges ADD COLUMN shipping TEXT CHECK (shipping IS NULL OR json_valid(shipping));
ALTER TABLE customers ADD COLUMN address TEXT CHECK (address IS NULL OR json_valid(address));
ALTER TABLE customers ADD COLUMN shipping TEXT CHECK (shipping IS NULL OR json_valid(shipping));
