-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0017_staff.sql -- the back-office for the people who use it (issue 14).
--
-- A fourth staff role, support: the people a customer calls.  They look a
-- customer up, see their credentials, phones, passkeys, lockout and latest
-- attempts, unlock and revoke with a comment, change an assurance code the
-- customer dictates, and keep the hardware token inventory.  They do not
-- review applications, follow applicants (assist) or see the delivery
-- queue.  Admins keep every right.
--
-- Support finds a customer by e-mail address: the lookup is on the
-- lower-cased address.

ALTER TABLE admins DROP CONSTRAINT admins_role_check;
ALTER TABLE admins ADD CONSTRAINT admins_role_check
  CHECK (role IN ('reviewer', 'advisor', 'support', 'admin'));
COMMENT ON COLUMN admins.role IS
  'reviewer (review queue, audit log), advisor (follows applicants who ask for help: assisted enrolment), support (customers: view, unlock, revoke, assurance code; hardware token inventory) or admin (everything).';

CREATE INDEX customer_contacts_email_lower
  ON customer_contacts (lower(email)) WHERE email IS NOT NULL;

-- The review queue: who works on a review (assign to me), and a review
-- whose applicant was asked something (the third decision, "ask the
-- applicant"): it stays open, its enrolment waits, and the queue shows
-- since when.
ALTER TABLE reviews
  ADD COLUMN assigned_to text REFERENCES admins (username),
  ADD COLUMN assigned_at timestamptz,
  ADD COLUMN asked_at    timestamptz;
COMMENT ON COLUMN reviews.assigned_to IS 'The staff member who took the review ("assign to me"), or NULL: a mark for the others, not a lock.';
COMMENT ON COLUMN reviews.assigned_at IS 'When it was taken.';
COMMENT ON COLUMN reviews.asked_at IS 'When a reviewer last asked the applicant something (decision "ask", an e-mail through the outbox); the review stays open and the enrolment waits.';
