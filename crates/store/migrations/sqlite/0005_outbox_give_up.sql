-- An effect whose delivery failed for good (a permanent error, or the last allowed attempt) is
-- given up: kept, never claimed again, listed for the manager, who may retry it.
ALTER TABLE outbox ADD COLUMN given_up_at INTEGER;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (due_at, id) WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX outbox_given_up ON outbox (given_up_at, id) WHERE delivered_at IS NULL AND given_up_at IS NOT NULL;
