-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0009_identity_trust.sql -- identifiers of people as keyed tokens, and
-- re-enrolment onto an existing customer only by the same document with
-- four eyes (issue 12).
--
-- doc_key and identity_key were unkeyed SHA-256 values: a 9-digit document
-- number falls to brute force in minutes.  They become HMAC-SHA256 tokens
-- under the key file's token key, with that key's id beside each value.
-- SQL cannot compute them (the key never reaches the database): this file
-- adds the key id columns, NULL for every existing row, and guichetd's
-- rekey step (run by `guichetd migrate` when it can read the key file, and
-- by `guichetd serve` at start) recomputes identity_key from the applicant
-- data and wraps each old doc_key, HMAC(token key, old SHA-256), which is
-- exactly the token a new enrolment with that document computes (see
-- enrol/tokens.c and docs/security-identity.md).
--
-- Enrolments in flight that the old rule linked to an existing customer
-- (same name and birth date, or same document, with one approval) lose the
-- link: they complete as new customers unless a new review attaches them.

ALTER TABLE enrolments
  ADD COLUMN doc_key_id text,
  ADD COLUMN identity_key_id text,
  ADD COLUMN reenrols_customer_id text REFERENCES customers (id);

COMMENT ON COLUMN enrolments.doc_key IS
  'HMAC-SHA256 token of the document: HMAC(token key, "guichet-doc-v1" 0x00 SHA-256("STATE|NUMBER")), hex; the number itself is never stored.  NULL when no MRZ could be read.  Before rekey (doc_key_id NULL): the old unkeyed SHA-256.';
COMMENT ON COLUMN enrolments.doc_key_id IS
  'Id of the token key (a "token" line of the master key file) that made doc_key; look-ups compute the token under every token key, so rows of an older key still match while it stays in the file.  NULL: not yet rekeyed.';
COMMENT ON COLUMN enrolments.identity_key IS
  'HMAC-SHA256 token of the declared surname, given names (MRZ transliteration, or the text as typed when there is none) and birth date, for duplicate detection; recomputable from applicant.';
COMMENT ON COLUMN enrolments.identity_key_id IS
  'Id of the token key that made identity_key; rows of another key (or NULL: not yet rekeyed) are recomputed by the rekey step.';
COMMENT ON COLUMN enrolments.reenrols_customer_id IS
  'The existing customer this enrolment re-enrols (a lost phone): set only by the second of two approvals, by two different staff, of a review whose document matched that customer''s.  Completion then replaces that customer''s PIN and adds the credential.  NULL: completion creates a new customer.';
COMMENT ON COLUMN enrolments.customer_id IS
  'The customer the enrolment completed as: reserved at the first credential request (a new id, or reenrols_customer_id).';

UPDATE enrolments SET customer_id = NULL
 WHERE state NOT IN ('completed', 'rejected', 'expired')
   AND customer_id IN (SELECT id FROM customers);

CREATE INDEX enrolments_customer ON enrolments (customer_id, completed_at DESC)
  WHERE state = 'completed';

ALTER TABLE reviews
  ADD COLUMN attach_customer_id text REFERENCES customers (id);

COMMENT ON COLUMN reviews.attach_customer_id IS
  'Identity reviews: the existing customer whose document (issuing state + number) this enrolment presented.  Approving attaches the enrolment to that customer: it needs four eyes, and the final approval queues a message to the customer in the outbox.  NULL: approving creates a new customer.';
COMMENT ON COLUMN reviews.four_eyes IS
  'Approval needs two different staff, the second an admin: the score reached threshold.four_eyes of the risk rules, a sanctions_match, or the approval would attach the enrolment to an existing customer.';
