-- PostgreSQL translation of migrations/0016_attempt_named_method.sql: whether the request that made an attempt named
-- its payment method, a 0/1 flag in a BIGINT as every flag here (see 0001_initial.sql), NULL in existing rows. A
-- nullable column without a default: PostgreSQL changes only the catalog.
ALTER TABLE charges ADD COLUMN named_payment_method BIGINT CHECK (named_payment_method IN (0, 1));
