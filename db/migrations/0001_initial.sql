-- 0001_initial: the archive's first shape.
-- outlets (configured and host-named ones), crawl runs with their counters, articles with
-- a full-text search column, every URL that led to an article (so none is fetched twice),
-- and the raw page of every stored article (gzip, so extraction can be re-run later).

CREATE TABLE outlets (
    name                 text PRIMARY KEY,
    title                text NOT NULL,
    homepage             text NOT NULL,
    language             text,
    wire                 boolean NOT NULL DEFAULT false,
    interval_seconds     integer NOT NULL DEFAULT 1800 CHECK (interval_seconds > 0),
    -- false for outlets created from the host of an imported page no configured outlet covers
    configured           boolean NOT NULL DEFAULT true,
    next_due_at          timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_error           text,
    last_crawl_at        timestamptz,
    last_success_at      timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crawl_runs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outlet             text NOT NULL REFERENCES outlets (name) ON DELETE CASCADE,
    kind               text NOT NULL DEFAULT 'crawl' CHECK (kind IN ('crawl', 'import')),
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    status             text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    pages_fetched      integer NOT NULL DEFAULT 0,
    articles_stored    integer NOT NULL DEFAULT 0,
    copies_detected    integer NOT NULL DEFAULT 0,
    duplicates_skipped integer NOT NULL DEFAULT 0,
    pages_skipped      integer NOT NULL DEFAULT 0,
    errors             integer NOT NULL DEFAULT 0,
    error              text
);
CREATE INDEX crawl_runs_outlet_idx ON crawl_runs (outlet, started_at DESC);

CREATE TABLE articles (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url          text NOT NULL UNIQUE,  -- canonical URL
    outlet       text NOT NULL REFERENCES outlets (name) ON DELETE CASCADE,
    title        text NOT NULL,
    text         text NOT NULL,
    authors      text[] NOT NULL DEFAULT '{}',
    published_at timestamptz,
    updated_at   timestamptz,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    language     text,
    description  text,
    -- sha256 of the normalised text (crawler.dedupe.text_fingerprint): identical copies
    text_hash    text NOT NULL,
    -- the original this row is a syndicated copy of; NULL for an original
    copy_of      bigint REFERENCES articles (id) ON DELETE SET NULL,
    similarity   real,
    crawl_run_id bigint REFERENCES crawl_runs (id) ON DELETE SET NULL,
    search       tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(CASE WHEN language LIKE 'en%' THEN 'english'::regconfig ELSE 'simple'::regconfig END,
                              coalesce(title, '')), 'A')
        || setweight(to_tsvector(CASE WHEN language LIKE 'en%' THEN 'english'::regconfig ELSE 'simple'::regconfig END,
                                 coalesce(description, '')), 'B')
        || setweight(to_tsvector(CASE WHEN language LIKE 'en%' THEN 'english'::regconfig ELSE 'simple'::regconfig END,
                                 text), 'C')
    ) STORED,
    CHECK (copy_of IS DISTINCT FROM id)
);
CREATE INDEX articles_search_idx ON articles USING gin (search);
CREATE INDEX articles_text_hash_idx ON articles (text_hash);
CREATE INDEX articles_recent_idx ON articles ((coalesce(published_at, fetched_at)));
CREATE INDEX articles_outlet_idx ON articles (outlet, published_at DESC);
CREATE INDEX articles_copy_of_idx ON articles (copy_of) WHERE copy_of IS NOT NULL;

CREATE TABLE article_urls (
    url        text PRIMARY KEY,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE
);
CREATE INDEX article_urls_article_idx ON article_urls (article_id);

CREATE TABLE raw_pages (
    article_id   bigint PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    url          text NOT NULL,  -- as fetched, after redirects
    status       integer,
    content_type text,
    headers      jsonb NOT NULL DEFAULT '{}',
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    body_size    integer NOT NULL,
    body_gzip    bytea NOT NULL
);
-- Already gzip-compressed: keep TOAST from trying again.
ALTER TABLE raw_pages ALTER COLUMN body_gzip SET STORAGE EXTERNAL;
