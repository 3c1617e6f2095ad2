-- Whether the request that made an attempt named its payment method (1: `payment_method` was sent with the confirm,
-- or with the create that confirmed; 0: the attempt used the card the intent already held). A confirm that finds
-- another request's attempt in flight answers that attempt's outcome only when it could be that request's retry:
-- one naming no card is not the retry of an attempt whose request named one. NULL in every existing row (not
-- known: such an attempt is answered as before); a column added at the end: SQLite changes only the schema.
ALTER TABLE charges ADD COLUMN named_payment_method INTEGER CHECK (named_payment_method IN (0, 1));
