-- Contract v2: the reference the bank knows a checkout by, unique per provider, so an
-- authentic notification maps to exactly one checkout. Older checkouts used their own reference.
ALTER TABLE checkouts ADD COLUMN bank_reference TEXT;
UPDATE checkouts SET bank_reference = reference WHERE bank_reference IS NULL;
CREATE UNIQUE INDEX checkouts_provider_bank_reference ON checkouts (provider, bank_reference);
