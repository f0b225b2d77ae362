-- create_schema_migrations --
-- the record of applied migrations
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- lock_migrations --
-- serialise migrations between processes until the end of the transaction
SELECT pg_advisory_xact_lock(%(key)s)

-- migration_applied --
-- whether a migration version is already recorded
SELECT 1 FROM schema_migrations WHERE version = %(version)s

-- record_migration --
-- remember an applied migration
INSERT INTO schema_migrations (version, name) VALUES (%(version)s, %(name)s)

-- applied_migrations --
-- what a database has applied, oldest first
SELECT version, name, applied_at FROM schema_migrations ORDER BY version

-- upsert_outlet --
-- create or update a configured outlet, keeping its crawl state
INSERT INTO outlets (name, title, homepage, language, wire, interval_seconds, configured)
VALUES (%(name)s, %(title)s, %(homepage)s, %(language)s, %(wire)s, %(interval_seconds)s, true)
ON CONFLICT (name) DO UPDATE SET
    title = EXCLUDED.title,
    homepage = EXCLUDED.homepage,
    language = EXCLUDED.language,
    wire = EXCLUDED.wire,
    interval_seconds = EXCLUDED.interval_seconds,
    configured = true,
    updated_at = now()

-- ensure_host_outlet --
-- an outlet named after a host that no configured outlet covers (for imported pages)
INSERT INTO outlets (name, title, homepage, language, configured)
VALUES (%(name)s, %(name)s, %(homepage)s, %(language)s, false)
ON CONFLICT (name) DO NOTHING

-- list_outlets --
-- every outlet with its archive size and crawl state
SELECT o.name, o.title, o.homepage, o.language, o.wire, o.interval_seconds, o.configured,
       o.next_due_at, o.consecutive_failures, o.last_error, o.last_crawl_at, o.last_success_at,
       (SELECT count(*) FROM articles a WHERE a.outlet = o.name) AS articles
FROM outlets o
ORDER BY o.name

-- outlet_wire_flags --
-- which of the given outlets are wire services
SELECT name, wire FROM outlets WHERE name = ANY(%(names)s)

-- record_crawl_outcome --
-- after a crawl: success resets the failure count, failure increments it; next due time set by the caller
UPDATE outlets SET
    last_crawl_at = now(),
    last_success_at = CASE WHEN %(ok)s THEN now() ELSE last_success_at END,
    consecutive_failures = CASE WHEN %(ok)s THEN 0 ELSE consecutive_failures + 1 END,
    last_error = CASE WHEN %(ok)s THEN NULL ELSE %(error)s END,
    next_due_at = %(next_due_at)s,
    updated_at = now()
WHERE name = %(name)s

-- delete_outlets_like --
-- remove outlets (and, by cascade, their runs and articles) whose names start with a prefix
DELETE FROM outlets WHERE name LIKE %(prefix)s || '%%' RETURNING name

-- start_run --
-- open a crawl or import run for an outlet
INSERT INTO crawl_runs (outlet, kind) VALUES (%(outlet)s, %(kind)s) RETURNING id

-- count_in_run --
-- add to a run's counters (in the same transaction as the work counted)
UPDATE crawl_runs SET
    pages_fetched = pages_fetched + %(pages_fetched)s,
    articles_stored = articles_stored + %(articles_stored)s,
    copies_detected = copies_detected + %(copies_detected)s,
    duplicates_skipped = duplicates_skipped + %(duplicates_skipped)s,
    pages_skipped = pages_skipped + %(pages_skipped)s,
    errors = errors + %(errors)s
WHERE id = %(id)s

-- finish_run --
-- close a run with its final status
UPDATE crawl_runs SET finished_at = now(), status = %(status)s, error = %(error)s
WHERE id = %(id)s
RETURNING id, outlet, kind, started_at, finished_at, status, pages_fetched, articles_stored,
          copies_detected, duplicates_skipped, pages_skipped, errors, error

-- get_run --
-- one run
SELECT id, outlet, kind, started_at, finished_at, status, pages_fetched, articles_stored,
       copies_detected, duplicates_skipped, pages_skipped, errors, error
FROM crawl_runs WHERE id = %(id)s

-- known_urls --
-- which of the given URLs already led to an archived article
SELECT url FROM article_urls WHERE url = ANY(%(urls)s)

-- article_for_urls --
-- the article any of the given URLs already led to
SELECT article_id FROM article_urls WHERE url = ANY(%(urls)s) LIMIT 1

-- add_article_url --
-- remember that a URL leads to an article
INSERT INTO article_urls (url, article_id) VALUES (%(url)s, %(article_id)s)
ON CONFLICT (url) DO NOTHING

-- lock_dedupe --
-- serialise dedupe-and-store between processes until the end of the transaction: the
-- near-duplicate check reads what concurrent stores are about to write
SELECT pg_advisory_xact_lock(%(key)s)

-- same_text --
-- articles whose normalised text is identical (indexed)
SELECT a.id, a.outlet, a.published_at, a.fetched_at, a.copy_of, o.wire, left(a.text, %(chars)s) AS text
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE a.text_hash = %(text_hash)s
ORDER BY a.id
LIMIT 20

-- candidate_by_id --
-- one archived article as the dedupe check sees it
SELECT a.id, a.outlet, a.published_at, a.fetched_at, a.copy_of, o.wire, left(a.text, %(chars)s) AS text
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE a.id = %(id)s

-- near_candidates --
-- articles published within the window around a time, in the same language, for the fuzzy check
SELECT a.id, a.outlet, a.published_at, a.fetched_at, a.copy_of, o.wire, left(a.text, %(chars)s) AS text
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE coalesce(a.published_at, a.fetched_at) BETWEEN %(around)s::timestamptz - %(window)s AND %(around)s::timestamptz + %(window)s
  AND a.language IS NOT DISTINCT FROM %(language)s
ORDER BY coalesce(a.published_at, a.fetched_at) DESC
LIMIT %(limit)s

-- insert_article --
-- store an article; a concurrent insert of the same canonical URL makes this a no-op
INSERT INTO articles (url, outlet, title, text, authors, published_at, updated_at, language,
                      description, text_hash, copy_of, similarity, crawl_run_id)
VALUES (%(url)s, %(outlet)s, %(title)s, %(text)s, %(authors)s, %(published_at)s, %(updated_at)s,
        %(language)s, %(description)s, %(text_hash)s, %(copy_of)s, %(similarity)s, %(crawl_run_id)s)
ON CONFLICT (url) DO NOTHING
RETURNING id

-- repoint_copies --
-- a new original arrived: the old original and its copies become copies of it
UPDATE articles SET copy_of = %(new_original)s
WHERE (id = %(old_original)s OR copy_of = %(old_original)s) AND id <> %(new_original)s

-- insert_raw_page --
-- keep the page an article was extracted from
INSERT INTO raw_pages (article_id, url, status, content_type, headers, body_size, body_gzip)
VALUES (%(article_id)s, %(url)s, %(status)s, %(content_type)s, %(headers)s, %(body_size)s, %(body_gzip)s)
ON CONFLICT (article_id) DO NOTHING

-- get_raw_page --
-- the stored page of an article
SELECT article_id, url, status, content_type, headers, fetched_at, body_size, body_gzip
FROM raw_pages WHERE article_id = %(article_id)s

-- get_article --
-- one article by id
SELECT id, url, outlet, title, text, authors, published_at, updated_at, fetched_at, language,
       description, copy_of, similarity
FROM articles WHERE id = %(id)s

-- list_articles_of_outlets --
-- articles of some outlets, oldest first (tests, summaries, exports)
SELECT id, url, outlet, title, text, authors, published_at, updated_at, fetched_at, language,
       description, copy_of, similarity
FROM articles WHERE outlet = ANY(%(outlets)s)
ORDER BY coalesce(published_at, fetched_at), id

-- search_articles --
-- web-search syntax over title, description and text; newest first
WITH q AS (
    SELECT websearch_to_tsquery('english', %(query)s) AS en,
           websearch_to_tsquery('simple', %(query)s) AS simple
)
SELECT a.id, a.url, a.outlet, a.title, a.published_at, a.fetched_at, a.language, a.copy_of,
       ts_rank_cd(a.search, CASE WHEN a.language LIKE 'en%%' THEN q.en ELSE q.simple END) AS rank
FROM articles a, q
WHERE a.search @@ CASE WHEN a.language LIKE 'en%%' THEN q.en ELSE q.simple END
  AND (%(outlet)s::text IS NULL OR a.outlet = %(outlet)s)
  AND (%(language)s::text IS NULL OR a.language = %(language)s)
  AND (%(since)s::timestamptz IS NULL OR coalesce(a.published_at, a.fetched_at) >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR coalesce(a.published_at, a.fetched_at) < %(until)s)
ORDER BY coalesce(a.published_at, a.fetched_at) DESC, a.id DESC
LIMIT %(limit)s

-- outlet_summary --
-- per outlet: runs' pages fetched, articles stored and copies detected since a time
SELECT r.outlet,
       sum(r.pages_fetched)::int AS pages_fetched,
       sum(r.articles_stored)::int AS articles_stored,
       sum(r.copies_detected)::int AS copies_detected,
       sum(r.duplicates_skipped)::int AS duplicates_skipped,
       sum(r.pages_skipped)::int AS pages_skipped,
       sum(r.errors)::int AS errors
FROM crawl_runs r
WHERE r.outlet = ANY(%(outlets)s) AND r.started_at >= %(since)s
GROUP BY r.outlet
ORDER BY r.outlet
