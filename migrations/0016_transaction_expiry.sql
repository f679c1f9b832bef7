-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0016: transactions past their expiry are marked expired by a sweep, so
-- that their relying party hears of it (the webhook event
-- transaction.expired, migration 0014's notify_queue_transaction).
--
-- Until now a pending row past expires_at only read as expired and was
-- marked so by the first decision that found it -- and a payment nobody
-- answered was never marked, so no event could tell the shop.  The
-- retention pass (core/retention.c: one instance at a time, bounded
-- batches) now runs authn/'s sweep: one conditional UPDATE per batch of
-- the oldest such rows, which it finds through this index.

CREATE INDEX transactions_expiring ON transactions (expires_at)
  WHERE status = 'pending';
COMMENT ON COLUMN transactions.status IS 'pending -> approved | declined | failed (5 wrong response codes) | expired.  A pending row past expires_at reads as expired; it is marked so by the first decision that finds it or by the expiry sweep of the retention pass (purge_interval_s), whichever comes first, and its relying party is sent transaction.expired.';
