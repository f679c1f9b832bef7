-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0018_applicants.sql -- a customer reference made for people (issue 14).
--
-- The internal id (cus_ + 22 base64url characters) stays the key of every
-- API; a person cannot read it out on the phone or copy it by hand.  Each
-- customer also gets ten digits, the last a Luhn check digit (ISO/IEC
-- 7812), so a mistyped or swapped digit is caught before a look-up; the
-- first is never 0, so the number always has ten digits.  Shown grouped
-- 123 456 789 0.  Drawn in the database at insert (every path that makes
-- a customer gets one), from gen_random_uuid()'s strong random source:
-- not a secret, but not a count of customers either.

CREATE FUNCTION customer_reference_luhn(body text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  total integer := 0;
  d integer;
  dbl boolean := true;   -- the rightmost body digit is doubled
BEGIN
  FOR i IN REVERSE length(body)..1 LOOP
    d := substr(body, i, 1)::integer;
    IF dbl THEN
      d := d * 2;
      IF d > 9 THEN d := d - 9; END IF;
    END IF;
    total := total + d;
    dbl := NOT dbl;
  END LOOP;
  RETURN ((10 - total % 10) % 10)::text;
END $$;

COMMENT ON FUNCTION customer_reference_luhn(text) IS
  'The Luhn check digit (ISO/IEC 7812-1 annex B) of a string of digits.';

CREATE FUNCTION customer_reference_new() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  body text;
  candidate text;
BEGIN
  LOOP
    body := (100000000 + ((('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 15))
                           ::bit(60)::bigint) % 900000000))::text;
    candidate := body || customer_reference_luhn(body);
    EXIT WHEN NOT EXISTS (SELECT 1 FROM customers WHERE reference = candidate);
  END LOOP;
  RETURN candidate;
END $$;

COMMENT ON FUNCTION customer_reference_new() IS
  'A fresh customer reference: 9 random digits (the first not 0) and their Luhn digit, unused so far.';

ALTER TABLE customers ADD COLUMN reference text;
UPDATE customers SET reference = customer_reference_new() WHERE reference IS NULL;
ALTER TABLE customers ALTER COLUMN reference SET DEFAULT customer_reference_new(),
                      ALTER COLUMN reference SET NOT NULL,
                      ADD CONSTRAINT customers_reference_key UNIQUE (reference),
                      ADD CONSTRAINT customers_reference_shape
                        CHECK (reference ~ '^[1-9][0-9]{9}$'
                               AND right(reference, 1) = customer_reference_luhn(left(reference, 9)));

COMMENT ON COLUMN customers.reference IS
  'The customer reference people read and type: 10 digits, the last a Luhn check digit, unique; shown grouped 123 456 789 0.  Not the bank''s own "ref", not the internal id.';
