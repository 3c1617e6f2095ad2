-- PostgreSQL translation of migrations/0014_payment_method_checks.sql: a card's `address_line1_check` and
-- `address_postal_code_check` beside its `cvc_check`. Nullable columns without a default: PostgreSQL changes only the
-- catalog; a card saved with an address before this migration starts `unchecked`.
ALTER TABLE payment_methods ADD COLUMN address_line1_check TEXT
    CHECK (address_line1_check = 'pass' OR address_line1_check = 'fail' OR address_line1_check = 'unavailable'
        OR address_line1_check = 'unchecked');
ALTER TABLE payment_methods ADD COLUMN address_postal_code_check TEXT
    CHECK (address_postal_code_check = 'pass' OR address_postal_code_check = 'fail'
        OR address_postal_code_check = 'unavailable' OR address_postal_code_check = 'unchecked');
UPDATE payment_methods
SET address_line1_check =
        CASE WHEN (billing_details::json -> 'address' ->> 'line1') IS NOT NULL THEN 'unchecked' END,
    address_postal_code_check =
        CASE WHEN (billing_details::json -> 'address' ->> 'postal_code') IS NOT NULL THEN 'unchecked' END
WHERE (billing_details::json -> 'address' ->> 'line1') IS NOT NULL
    OR (billing_details::json -> 'address' ->> 'postal_code') IS NOT NULL;
