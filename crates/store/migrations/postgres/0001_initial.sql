-- Checkouts and everything written with their transitions. Timestamps are unix milliseconds,
-- amounts minor units with an ISO 4217 alpha code, enums their storage names.
CREATE TABLE checkouts (
    reference          TEXT PRIMARY KEY NOT NULL,
    provider           TEXT NOT NULL,
    amount_minor       BIGINT NOT NULL CHECK (amount_minor > 0),
    currency           TEXT NOT NULL,
    shop_order_id      TEXT,
    status             TEXT NOT NULL,
    amount_mismatch    BIGINT NOT NULL DEFAULT 0,
    superseded_by      TEXT,
    validated_by       TEXT,
    validated_author   TEXT,
    validated_note     TEXT,
    customer_email     TEXT NOT NULL,
    customer_name      TEXT NOT NULL,
    delivery_date      TEXT,
    retract_at         BIGINT NOT NULL,
    provider_data      TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    reconcile_attempts BIGINT NOT NULL DEFAULT 0,
    next_reconcile_at  BIGINT,
    version            BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX checkouts_by_status ON checkouts (status, created_at DESC, reference DESC);
CREATE INDEX checkouts_all ON checkouts (created_at DESC, reference DESC);
CREATE INDEX checkouts_by_order ON checkouts (shop_order_id) WHERE shop_order_id IS NOT NULL;
CREATE INDEX checkouts_retraction ON checkouts (status, retract_at);
CREATE INDEX checkouts_reconcile ON checkouts (status, next_reconcile_at);

CREATE TABLE bank_transactions (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider            TEXT NOT NULL,
    reference           TEXT NOT NULL REFERENCES checkouts (reference),
    bank_transaction_id TEXT NOT NULL,
    outcome             TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    source              TEXT NOT NULL,
    reason_kind         TEXT,
    reason_code         TEXT,
    authorization_code  TEXT,
    card                TEXT,
    event_id            TEXT,
    received_at         BIGINT NOT NULL,
    UNIQUE (provider, reference, bank_transaction_id, outcome)
);
CREATE INDEX bank_transactions_by_reference ON bank_transactions (reference, id);

CREATE TABLE payment_records (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference           TEXT NOT NULL REFERENCES checkouts (reference),
    record_key          TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    bank_transaction_id TEXT,
    source              TEXT NOT NULL,
    author              TEXT,
    note                TEXT,
    recorded_at         BIGINT NOT NULL,
    UNIQUE (reference, record_key)
);
CREATE INDEX payment_records_by_time ON payment_records (recorded_at, id);

CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference    TEXT NOT NULL REFERENCES checkouts (reference),
    effect_key   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    leased_by    TEXT,
    lease_until  BIGINT,
    delivered_at BIGINT,
    UNIQUE (reference, effect_key)
);
CREATE INDEX outbox_due ON outbox (due_at, id) WHERE delivered_at IS NULL;

CREATE TABLE quarantine (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider            TEXT NOT NULL,
    reference           TEXT NOT NULL,
    bank_transaction_id TEXT NOT NULL,
    summary             TEXT NOT NULL,
    why                 TEXT NOT NULL,
    first_at            BIGINT NOT NULL,
    last_at             BIGINT NOT NULL,
    seen_count          BIGINT NOT NULL DEFAULT 1,
    UNIQUE (provider, reference, bank_transaction_id, why)
);

CREATE TABLE audit (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference     TEXT NOT NULL REFERENCES checkouts (reference),
    event         TEXT NOT NULL,
    author        TEXT,
    detail        TEXT,
    status_before TEXT NOT NULL,
    status_after  TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX audit_by_reference ON audit (reference, id);
