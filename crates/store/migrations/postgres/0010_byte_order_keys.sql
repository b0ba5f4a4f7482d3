-- Keys compared byte by byte. References, bank references and the other identifiers are
-- ASCII, where the byte order is the order any collation gives; under the database's default
-- collation (often a libc locale such as C.UTF-8 or fr_FR.UTF-8) every comparison of a key
-- in an index went through the locale's strcoll. Only the indexes are rebuilt: the text is
-- the same.
ALTER TABLE checkouts
    ALTER COLUMN reference TYPE TEXT COLLATE "C",
    ALTER COLUMN bank_reference TYPE TEXT COLLATE "C",
    ALTER COLUMN provider TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C",
    ALTER COLUMN shop_order_id TYPE TEXT COLLATE "C";
ALTER TABLE bank_transactions
    ALTER COLUMN provider TYPE TEXT COLLATE "C",
    ALTER COLUMN reference TYPE TEXT COLLATE "C",
    ALTER COLUMN bank_transaction_id TYPE TEXT COLLATE "C",
    ALTER COLUMN outcome TYPE TEXT COLLATE "C";
ALTER TABLE payment_records
    ALTER COLUMN reference TYPE TEXT COLLATE "C",
    ALTER COLUMN record_key TYPE TEXT COLLATE "C";
ALTER TABLE outbox
    ALTER COLUMN reference TYPE TEXT COLLATE "C",
    ALTER COLUMN effect_key TYPE TEXT COLLATE "C";
ALTER TABLE audit
    ALTER COLUMN reference TYPE TEXT COLLATE "C";
ALTER TABLE quarantine
    ALTER COLUMN provider TYPE TEXT COLLATE "C",
    ALTER COLUMN reference TYPE TEXT COLLATE "C",
    ALTER COLUMN bank_transaction_id TYPE TEXT COLLATE "C";
