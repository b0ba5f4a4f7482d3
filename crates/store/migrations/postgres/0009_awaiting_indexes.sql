-- The retraction and reconciliation runs only ever look for checkouts awaiting payment.
-- Retraction: its index holds just those, in the order the run reads them, so a checkout
-- leaves it when paid, refused or cancelled and no later transition adds an entry there.
-- Reconciliation reads the awaiting checkouts by creation time, which `checkouts_by_status`
-- already gives: its own index, rewritten by every transition, served no query.
DROP INDEX checkouts_retraction;
DROP INDEX checkouts_reconcile;
CREATE INDEX checkouts_retraction ON checkouts (status, retract_at, reference)
    WHERE status = 'awaiting_payment';
