-- Refunds kept per bank transaction: each one asked of the bank, refunded or refused (JSON, by
-- bank transaction id), written with the checkout's state in the same transaction, so a
-- payment in instalments is refunded versement by versement and none twice.
ALTER TABLE checkouts ADD COLUMN refunds TEXT;
