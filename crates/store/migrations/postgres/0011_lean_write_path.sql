-- Fewer checks and index entries on the rows every notification writes.
--
-- Foreign keys: PostgreSQL checked each child row with a query of its own (a `SELECT … FOR
-- KEY SHARE` on the checkout, four per notification, 15 % of the server's work). Checkouts
-- are never deleted and their references never change, and every statement that writes a
-- child row requires its checkout in the same transaction: the event write inserts rows only
-- for checkouts it updates in the same statement (and rolls back when a row is left out),
-- the superseding of siblings inserts the audit row of a checkout it has just updated, and a
-- give-up alert names the checkout of an existing outbox row.
ALTER TABLE bank_transactions DROP CONSTRAINT bank_transactions_reference_fkey;
ALTER TABLE payment_records DROP CONSTRAINT payment_records_reference_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_reference_fkey;
ALTER TABLE audit DROP CONSTRAINT audit_reference_fkey;

-- One key each where there were two or three: the natural key, led by the checkout's
-- reference, serves the reads by checkout that `*_by_reference` served; the `id` columns
-- stay, for ordering, and nothing looks a row up by them.
ALTER TABLE bank_transactions DROP CONSTRAINT bank_transactions_pkey;
ALTER TABLE bank_transactions
    DROP CONSTRAINT bank_transactions_provider_reference_bank_transaction_id_ou_key;
DROP INDEX bank_transactions_by_reference;
ALTER TABLE bank_transactions ADD PRIMARY KEY (reference, provider, bank_transaction_id, outcome);

ALTER TABLE payment_records DROP CONSTRAINT payment_records_pkey;
ALTER TABLE payment_records DROP CONSTRAINT payment_records_reference_record_key_key;
ALTER TABLE payment_records ADD PRIMARY KEY (reference, record_key);

ALTER TABLE audit DROP CONSTRAINT audit_pkey;
DROP INDEX audit_by_reference;
ALTER TABLE audit ADD PRIMARY KEY (reference, id);
