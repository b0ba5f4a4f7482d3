-- Per provider and UTC day, how many numbers were handed out to build bank references (a bank whose
-- transaction ids are short and unique only within a day). One upsert allocates the next one,
-- so two engines on one database never hand out the same number.
CREATE TABLE bank_sequences (
    provider TEXT NOT NULL,
    day TEXT NOT NULL,
    issued BIGINT NOT NULL,
    PRIMARY KEY (provider, day)
);
