-- A card's address checks, as Stripe's `card.checks` shows them on a PaymentMethod: `address_line1_check` and
-- `address_postal_code_check` beside `cvc_check`, NULL while the card has no such datum, `unchecked` once it has one,
-- and the issuer's answer (`pass`, `fail`, `unavailable`) from the first payment, setup or attach that reaches the
-- issuer (which now answers `cvc_check` too: it stayed `unchecked`). Columns added at the end: SQLite changes only
-- the schema. A card saved with an address before this migration starts `unchecked`, answered at its next payment.
ALTER TABLE payment_methods ADD COLUMN address_line1_check TEXT
    CHECK (address_line1_check = 'pass' OR address_line1_check = 'fail' OR address_line1_check = 'unavailable'
        OR address_line1_check = 'unchecked');
ALTER TABLE payment_methods ADD COLUMN address_postal_code_check TEXT
    CHECK (address_postal_code_check = 'pass' OR address_postal_code_check = 'fail'
        OR address_postal_code_check = 'unavailable' OR address_postal_code_check = 'unchecked');
UPDATE payment_methods
SET address_line1_check =
        CASE WHEN json_extract(billing_details, '$.address.line1') IS NOT NULL THEN 'unchecked' END,
    address_postal_code_check =
        CASE WHEN json_extract(billing_details, '$.address.postal_code') IS NOT NULL THEN 'unchecked' END
WHERE json_extract(billing_details, '$.address.line1') IS NOT NULL
    OR json_extract(billing_details, '$.address.postal_code') IS NOT NULL;
