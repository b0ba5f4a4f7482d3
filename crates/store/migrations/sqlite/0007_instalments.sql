-- Payment in instalments: the schedule asked at checkout (JSON, checked again when read), the
-- bank's verdicts on the later instalments (JSON, by number), and the instalment each bank
-- transaction is about.
ALTER TABLE checkouts ADD COLUMN schedule TEXT;
ALTER TABLE checkouts ADD COLUMN instalments TEXT;
ALTER TABLE bank_transactions ADD COLUMN instalment INTEGER;
