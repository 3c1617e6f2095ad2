-- Where an order goes, and a customer's address, as Stripe's `shipping` and `address` objects: a PaymentIntent's
-- `shipping` (and each charge's copy of it, as the intent held it when the attempt was made), a customer's `address`
-- and `shipping`. JSON text with sorted keys, nil fields left out (`{"address":{"city":"Paris","line1":"1 rue
-- X"},"name":"Jenny"}`), so admins can query them with json_extract(shipping, '$.address.country'). NULL when not
-- given, as in every existing row. Columns added at the end: SQLite changes only the schema (a CHECK on a new
-- column checks the existing rows, which hold NULL and pass).
ALTER TABLE payment_intents ADD COLUMN shipping TEXT CHECK (shipping IS NULL OR json_valid(shipping));
ALTER TABLE charges ADD COLUMN shipping TEXT CHECK (shipping IS NULL OR json_valid(shipping));
ALTER TABLE customers ADD COLUMN address TEXT CHECK (address IS NULL OR json_valid(address));
ALTER TABLE customers ADD COLUMN shipping TEXT CHECK (shipping IS NULL OR json_valid(shipping));
