-- 0005_scheduling: the database, not any one daemon, decides what is due and who crawls it.
-- Why: several `wirewatch run` processes share one PostgreSQL and APScheduler's job stores
-- cannot be shared between processes, so each outlet's poll interval (adapted to how much it
-- publishes), weighted failure score, health and lease live on its row; a lease is claimed
-- with FOR UPDATE SKIP LOCKED and expires, so a dead process's outlets pass to the others.
-- Feed and sitemap validators (ETag, Last-Modified, body hash) make an unchanged source cost
-- one 304. Runs record which process ran them and what discovery found (for adaptation).

ALTER TABLE outlets
    -- the interval adaptation settled on; NULL until the first crawl (then: the configured one)
    ADD COLUMN poll_seconds         integer CHECK (poll_seconds > 0),
    ADD COLUMN min_interval_seconds integer CHECK (min_interval_seconds > 0),
    ADD COLUMN max_interval_seconds integer CHECK (max_interval_seconds > 0),
    -- sum of failure weights since the last success (a timeout weighs less than a 404 feed)
    ADD COLUMN failure_score        real NOT NULL DEFAULT 0,
    ADD COLUMN healthy              boolean NOT NULL DEFAULT true,
    ADD COLUMN lease_owner          text,
    ADD COLUMN lease_expires_at     timestamptz,
    ADD COLUMN last_run_id          bigint REFERENCES crawl_runs (id) ON DELETE SET NULL;
CREATE INDEX outlets_due_idx ON outlets (next_due_at) WHERE configured;

ALTER TABLE crawl_runs
    ADD COLUMN owner             text,      -- the process that ran it ("host:pid")
    ADD COLUMN links_seen        integer NOT NULL DEFAULT 0,  -- article links discovered
    ADD COLUMN links_new         integer NOT NULL DEFAULT 0,  -- of which not archived yet
    ADD COLUMN sources_unchanged integer NOT NULL DEFAULT 0;  -- feeds/sitemaps answering 304 or same body

CREATE TABLE source_validators (
    url           text PRIMARY KEY,  -- a feed, sitemap or section page as configured or discovered
    outlet        text NOT NULL REFERENCES outlets (name) ON DELETE CASCADE,
    etag          text,
    last_modified text,
    body_sha256   text,              -- for servers that send neither validator
    checked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX source_validators_outlet_idx ON source_validators (outlet);
