-- What the customer's e-mails show (language, description, item count) and the lease of the
-- retraction sweep, so two engine instances never query the bank twice for one retraction.
ALTER TABLE checkouts ADD COLUMN language TEXT;
ALTER TABLE checkouts ADD COLUMN description TEXT;
ALTER TABLE checkouts ADD COLUMN item_count INTEGER;
ALTER TABLE checkouts ADD COLUMN retract_lease_until INTEGER;
