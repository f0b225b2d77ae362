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

-- outlets_with_articles --
-- the names of the outlets the archive holds articles of (the web UI's outlet filter): one index
-- probe each, where list_outlets counts them all (85 ms at 1,000,000 articles)
SELECT o.name FROM outlets o
WHERE EXISTS (SELECT 1 FROM articles a WHERE a.outlet = o.name)
ORDER BY o.name

-- list_outlets --
-- every outlet with its archive size and crawl state
SELECT o.name, o.title, o.homepage, o.language, o.wire, o.interval_seconds, o.configured,
       o.next_due_at, o.consecutive_failures, o.last_error, o.last_crawl_at, o.last_success_at,
       (SELECT count(*) FROM articles a WHERE a.outlet = o.name) AS articles,
       o.healthy, o.failure_score, o.poll_seconds, o.lease_owner,
       -- median delay from an article's publication to its alert's delivery, last 7 days
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.sent_at - a.published_at))
        FROM alert_deliveries d
        JOIN alerts al ON al.id = d.alert_id
        JOIN articles a ON a.id = al.article_id
        WHERE a.outlet = o.name AND d.status = 'sent' AND a.published_at IS NOT NULL
          AND d.sent_at > now() - interval '7 days') AS alert_delay_seconds
FROM outlets o
ORDER BY o.name

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
    errors = errors + %(errors)s,
    links_skipped = links_skipped + %(links_skipped)s,
    pages_not_stored = pages_not_stored + %(pages_not_stored)s
WHERE id = %(id)s

-- finish_run --
-- close a run with its final status
UPDATE crawl_runs SET finished_at = now(), status = %(status)s, error = %(error)s
WHERE id = %(id)s
RETURNING id, outlet, kind, started_at, finished_at, status, pages_fetched, articles_stored,
          copies_detected, duplicates_skipped, pages_skipped, errors, error, links_skipped, pages_not_stored

-- get_run --
-- one run
SELECT id, outlet, kind, started_at, finished_at, status, pages_fetched, articles_stored,
       copies_detected, duplicates_skipped, pages_skipped, errors, error, links_skipped, pages_not_stored
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
-- articles stored before `before` whose normalised text is identical (indexed)
SELECT a.id, a.url, a.outlet, a.published_at, a.fetched_at, a.copy_of, a.story_id, o.wire, a.wire_service,
       left(a.text, %(chars)s) AS text
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE a.text_hash = %(text_hash)s AND a.id < %(before)s
ORDER BY a.id
LIMIT 20

-- candidate_by_id --
-- one archived article as the dedupe check sees it
SELECT a.id, a.url, a.outlet, a.published_at, a.fetched_at, a.copy_of, a.story_id, o.wire, a.wire_service,
       left(a.text, %(chars)s) AS text
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE a.id = %(id)s

-- lsh_candidates --
-- articles sharing an LSH band key with a text, within the window around a time (btree
-- probes, no scan): the most shared keys first, for the rapidfuzz check
WITH hits AS (
    SELECT b.article_id, count(*)::int AS shared_bands
    FROM article_bands b
    WHERE b.band_key = ANY(%(keys)s::bigint[])
      AND b.at BETWEEN %(around)s::timestamptz - %(window)s AND %(around)s::timestamptz + %(window)s
    GROUP BY b.article_id
    ORDER BY shared_bands DESC, b.article_id
    LIMIT %(limit)s
)
SELECT a.id, a.url, a.outlet, a.published_at, a.fetched_at, a.copy_of, a.story_id, o.wire, a.wire_service,
       left(a.text, %(chars)s) AS text, h.shared_bands
FROM hits h
JOIN articles a ON a.id = h.article_id
JOIN outlets o ON o.name = a.outlet
ORDER BY h.shared_bands DESC, a.id

-- insert_article --
-- store an article; a concurrent insert of the same canonical URL makes this a no-op
INSERT INTO articles (url, outlet, title, text, authors, published_at, updated_at, language,
                      description, text_hash, copy_of, similarity, crawl_run_id, wire_service, story_id,
                      section, tags, image_url, site_name, canonical_url, extractor, search_cjk)
VALUES (%(url)s, %(outlet)s, %(title)s, %(text)s, %(authors)s, %(published_at)s, %(updated_at)s,
        %(language)s, %(description)s, %(text_hash)s, %(copy_of)s, %(similarity)s, %(crawl_run_id)s,
        %(wire_service)s, %(story_id)s, %(section)s, %(tags)s, %(image_url)s, %(site_name)s,
        %(canonical_url)s, %(extractor)s, %(search_cjk)s::tsvector)
ON CONFLICT (url) DO NOTHING
RETURNING id

-- set_copy_link --
-- make an article a copy of an original (or an original: NULLs), in the original's story
UPDATE articles SET copy_of = %(copy_of)s, similarity = %(similarity)s, story_id = %(story_id)s
WHERE id = %(id)s

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
       description, copy_of, similarity, story_id, wire_service
FROM articles WHERE id = %(id)s

-- list_articles_of_outlets --
-- articles of some outlets, oldest first (tests, summaries, exports)
SELECT id, url, outlet, title, text, authors, published_at, updated_at, fetched_at, language,
       description, copy_of, similarity, story_id, wire_service
FROM articles WHERE outlet = ANY(%(outlets)s)
ORDER BY coalesce(published_at, fetched_at), id

-- set_poll_bounds --
-- the per-outlet bounds within which polling adapts (from the outlets file)
UPDATE outlets SET min_interval_seconds = %(min_seconds)s, max_interval_seconds = %(max_seconds)s
WHERE name = %(name)s

-- claim_outlet --
-- take the lease on an outlet that is due (or forced) and not leased by a live process; a
-- process may take its own lease again (a crawl cut by a database outage kept it unreleased).
-- SKIP LOCKED: of two processes claiming at once, the second gets no row instead of waiting
-- and then crawling the outlet a second time.
UPDATE outlets o SET lease_owner = %(owner)s, lease_expires_at = %(now)s::timestamptz + %(lease)s
FROM (SELECT name FROM outlets
      WHERE name = %(name)s
        AND (%(force)s OR next_due_at IS NULL OR next_due_at <= %(now)s)
        AND (lease_expires_at IS NULL OR lease_expires_at <= %(now)s OR lease_owner = %(owner)s)
      FOR UPDATE SKIP LOCKED) due
WHERE o.name = due.name
RETURNING o.name, o.interval_seconds, o.poll_seconds, o.min_interval_seconds, o.max_interval_seconds,
          o.failure_score, o.consecutive_failures, o.next_due_at, o.lease_owner, o.lease_expires_at

-- outlet_schedule --
-- an outlet's scheduling state, for a process that did not get its lease
SELECT name, interval_seconds, poll_seconds, min_interval_seconds, max_interval_seconds, failure_score,
       consecutive_failures, next_due_at, lease_owner, lease_expires_at
FROM outlets WHERE name = %(name)s

-- renew_lease --
-- extend a lease still held by its owner (a long crawl heartbeats this)
UPDATE outlets SET lease_expires_at = %(now)s::timestamptz + %(lease)s
WHERE name = %(name)s AND lease_owner = %(owner)s
RETURNING name

-- interrupt_stale_runs --
-- the lease holder closes runs of this outlet left 'running' by a process that died
UPDATE crawl_runs SET status = 'failed', finished_at = now(), error = 'interrupted: the crawling process died'
WHERE outlet = %(outlet)s AND kind = 'crawl' AND status = 'running' AND id <> ALL(%(keep)s)

-- finish_crawl --
-- record a crawl's outcome and the next due time, and release the lease; a lease that expired
-- and was taken over by another process is left alone (that process records its own outcome)
UPDATE outlets SET
    last_crawl_at = %(now)s,
    last_success_at = CASE WHEN %(ok)s THEN %(now)s ELSE last_success_at END,
    consecutive_failures = %(consecutive_failures)s,
    failure_score = %(failure_score)s,
    healthy = %(healthy)s,
    last_error = %(error)s,
    next_due_at = %(next_due_at)s,
    poll_seconds = %(poll_seconds)s,
    last_run_id = coalesce(%(run_id)s, last_run_id),
    lease_owner = NULL,
    lease_expires_at = NULL,
    updated_at = now()
WHERE name = %(name)s AND (lease_owner = %(owner)s OR lease_owner IS NULL)
RETURNING name

-- release_leases --
-- give back every lease a stopping process holds, so others need not wait for expiry
UPDATE outlets SET lease_owner = NULL, lease_expires_at = NULL
WHERE lease_owner = %(owner)s
RETURNING name

-- source_validators --
-- the stored validators of an outlet's feeds, sitemaps and section pages
SELECT url, etag, last_modified, body_sha256 FROM source_validators WHERE outlet = %(outlet)s

-- save_source_validator --
-- remember a source's validators after everything it listed was archived
INSERT INTO source_validators (url, outlet, etag, last_modified, body_sha256, checked_at)
VALUES (%(url)s, %(outlet)s, %(etag)s, %(last_modified)s, %(body_sha256)s, now())
ON CONFLICT (url) DO UPDATE SET
    outlet = EXCLUDED.outlet, etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
    body_sha256 = EXCLUDED.body_sha256, checked_at = now()

-- record_run_discovery --
-- which process ran a crawl and what its discovery found (links seen/new, sources unchanged)
UPDATE crawl_runs SET owner = %(owner)s, links_seen = %(links_seen)s, links_new = %(links_new)s,
    sources_unchanged = %(sources_unchanged)s
WHERE id = %(id)s

-- check_watch --
-- how PostgreSQL parses a watch's query and whether it knows its time zone (the text is a parameter, never spliced)
SELECT websearch_to_tsquery('english', %(query)s)::text AS english,
       websearch_to_tsquery('simple', %(query)s)::text AS simple,
       EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %(time_zone)s) AS time_zone_known

-- insert_watch --
-- create a watch; NULL when the name is taken
INSERT INTO watches (name, query, outlets, language, mode, daily_at, time_zone, updates, source, query_cjk,
                     terms_cjk)
VALUES (%(name)s, %(query)s, %(outlets)s, %(language)s, %(mode)s, %(daily_at)s, %(time_zone)s, %(updates)s,
        %(source)s, %(query_cjk)s::tsquery, %(terms_cjk)s)
ON CONFLICT (name) DO NOTHING
RETURNING id

-- update_watch --
-- replace a watch's settings (channels apart)
UPDATE watches SET query = %(query)s, outlets = %(outlets)s, language = %(language)s, mode = %(mode)s,
    daily_at = %(daily_at)s, time_zone = %(time_zone)s, updates = %(updates)s, source = %(source)s,
    query_cjk = %(query_cjk)s::tsquery, terms_cjk = %(terms_cjk)s, updated_at = now()
WHERE name = %(name)s
RETURNING id

-- delete_watch --
-- remove a watch with its channels, alerts and deliveries
DELETE FROM watches WHERE name = %(name)s RETURNING source

-- release_config_watches_except --
-- config watches the file no longer defines: deleted when they never raised an alert; one with
-- alerts becomes a command-line watch (only `watch remove` deletes its alerts). Both parts read
-- one snapshot, so each watch is in exactly one of them.
WITH orphans AS (
    SELECT w.id, w.name, (SELECT count(*) FROM alerts al WHERE al.watch_id = w.id) AS alerts
    FROM watches w
    WHERE w.source = 'config' AND NOT (w.name = ANY(%(names)s))
), deleted AS (
    DELETE FROM watches w USING orphans o WHERE w.id = o.id AND o.alerts = 0 RETURNING w.name
), kept AS (
    UPDATE watches w SET source = 'cli', updated_at = now() FROM orphans o
    WHERE w.id = o.id AND o.alerts > 0 RETURNING w.name, o.alerts
)
SELECT name, 0::bigint AS alerts FROM deleted
UNION ALL
SELECT name, alerts FROM kept
ORDER BY name

-- list_watches --
-- every watch (or one by name) with its masked channels and alert count; never the channel URLs
SELECT w.id, w.name, w.query, w.query_en::text AS parsed, w.outlets, w.language, w.mode, w.daily_at,
       w.time_zone, w.updates, w.source, w.created_at, w.updated_at,
       coalesce((SELECT array_agg(c.masked ORDER BY c.id) FROM watch_channels c WHERE c.watch_id = w.id),
                '{}') AS channels,
       (SELECT count(*) FROM alerts al WHERE al.watch_id = w.id) AS alerts
FROM watches w
WHERE %(name)s::text IS NULL OR w.name = %(name)s
ORDER BY w.name

-- watch_channel_secrets --
-- a watch's channel URLs, for sending only
SELECT c.id, c.url, c.masked FROM watch_channels c JOIN watches w ON w.id = c.watch_id
WHERE w.name = %(name)s ORDER BY c.id

-- add_watch_channel --
-- attach a channel to a watch (idempotent)
INSERT INTO watch_channels (watch_id, url, masked) VALUES (%(watch_id)s, %(url)s, %(masked)s)
ON CONFLICT (watch_id, url) DO NOTHING

-- remove_other_channels --
-- detach every channel of a watch not in the given list
DELETE FROM watch_channels WHERE watch_id = %(watch_id)s AND NOT (url = ANY(%(urls)s))

-- watch_matches --
-- archived originals a watch would have matched, newest first (OR form, so the GIN index serves it)
SELECT a.id, a.outlet, a.title, a.url, a.published_at, a.fetched_at,
       (SELECT count(*) FROM articles c WHERE c.copy_of = a.id) AS copies
FROM watches w JOIN articles a
  ON (a.search_cjk IS NOT NULL AND a.search_cjk @@ w.query_cjk)
  OR (a.search_cjk IS NULL AND a.language LIKE 'en%%' AND a.search @@ w.query_en)
  OR (a.search_cjk IS NULL AND (a.language IS NULL OR a.language NOT LIKE 'en%%') AND a.search @@ w.query_simple)
WHERE w.name = %(name)s AND a.copy_of IS NULL
  AND (cardinality(w.outlets) = 0 OR a.outlet = ANY (w.outlets))
  AND (w.language IS NULL OR a.language LIKE w.language || '%%')
ORDER BY coalesce(a.published_at, a.fetched_at) DESC, a.id DESC
LIMIT %(limit)s

-- notify_article --
-- tell LISTENers on wirewatch_articles about a new original (delivered when the storing transaction commits)
SELECT pg_notify('wirewatch_articles', json_build_object(
    'id', a.id, 'url', left(a.url, 2000), 'outlet', a.outlet, 'title', left(a.title, 500),
    'published_at', a.published_at, 'language', a.language)::text)
FROM articles a WHERE a.id = %(article_id)s AND a.copy_of IS NULL

-- raise_alerts --
-- match one newly stored original against every watch in one statement; record one alert per
-- watch and story (an update when the story was alerted on before and the watch wants updates)
-- and enqueue one delivery per channel, in the transaction that stored the article. A story
-- counts as alerted on when an alert has the same story, or its article is now in this story or a
-- copy of this one (an earlier original that arrived late, and then the story its copy was not
-- in). The unique indexes make a racing insert a no-op. An article published more than
-- %(max_age)s before now (a backfill, an old page found late) is no news: it raises nothing.
WITH article AS (
    SELECT a.id, a.outlet, a.language, a.search, a.search_cjk,
           coalesce(a.story_id, a.id) AS story_id  -- NULL until a second report joins the story
    FROM articles a
    WHERE a.id = %(article_id)s AND a.copy_of IS NULL
      AND (%(max_age)s::interval IS NULL
           OR coalesce(a.published_at, a.fetched_at) >= coalesce(%(now)s::timestamptz, now()) - %(max_age)s::interval)
), matched AS (
    SELECT w.id AS watch_id, w.updates, w.mode, w.daily_at, w.time_zone, a.id AS article_id, a.story_id,
           EXISTS (SELECT 1 FROM alerts p JOIN articles pa ON pa.id = p.article_id
                   WHERE p.watch_id = w.id
                     AND (p.story_id = a.story_id OR pa.story_id = a.story_id OR pa.copy_of = a.id)) AS seen
    FROM watches w CROSS JOIN article a
    -- bigram-indexed (Japanese) articles match the watch's bigram query (0008), others as before
    WHERE CASE WHEN a.search_cjk IS NOT NULL THEN coalesce(a.search_cjk @@ w.query_cjk, false)
               ELSE a.search @@ CASE WHEN a.language LIKE 'en%%' THEN w.query_en ELSE w.query_simple END END
      AND (cardinality(w.outlets) = 0 OR a.outlet = ANY (w.outlets))
      AND (w.language IS NULL OR a.language LIKE w.language || '%%')
), raised AS (
    INSERT INTO alerts (watch_id, article_id, story_id, kind)
    SELECT watch_id, article_id, story_id, CASE WHEN seen THEN 'update' ELSE 'new' END
    FROM matched WHERE NOT seen OR updates
    ON CONFLICT DO NOTHING
    RETURNING id, watch_id
)
INSERT INTO alert_deliveries (alert_id, channel_id, due_at)
SELECT r.id, c.id, alert_due_at(m.mode, m.daily_at, m.time_zone, coalesce(%(now)s::timestamptz, now()))
FROM raised r JOIN matched m ON m.watch_id = r.watch_id JOIN watch_channels c ON c.watch_id = r.watch_id
ON CONFLICT DO NOTHING
RETURNING id

-- claim_deliveries --
-- lease due deliveries to one drainer: pending ones whose time has come and sending ones whose
-- lease expired (their drainer died between claim and send); SKIP LOCKED shares the outbox
WITH due AS (
    SELECT d.id FROM alert_deliveries d
    WHERE (d.status = 'pending' AND d.due_at <= coalesce(%(now)s::timestamptz, now()))
       OR (d.status = 'sending' AND d.lease_until <= coalesce(%(now)s::timestamptz, now()))
    ORDER BY d.due_at, d.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE alert_deliveries d SET status = 'sending', claim = %(claim)s, attempts = d.attempts + 1,
    lease_until = coalesce(%(now)s::timestamptz, now()) + %(lease)s
FROM due WHERE d.id = due.id
RETURNING d.id

-- claimed_deliveries --
-- what a claim holds, with everything a message says: the article, a snippet with the matched
-- terms in the watch's configuration, its time in the watch's time zone and the copies so far
SELECT d.id, d.attempts, al.id AS alert_id, al.kind, w.name AS watch, w.mode, w.time_zone,
       c.id AS channel_id, c.url AS channel_url, c.masked AS channel,
       a.id AS article_id, a.title, a.outlet, o.title AS outlet_title, a.url,
       to_char(coalesce(a.published_at, a.fetched_at) AT TIME ZONE w.time_zone, 'YYYY-MM-DD HH24:MI') AS published,
       CASE WHEN a.search_cjk IS NOT NULL THEN cjk_headline(a.text, w.terms_cjk, '**', '**', 160)
            ELSE alert_snippet(a.text, a.language, w.query_en, w.query_simple) END AS snippet,
       coalesce(cp.outlets, '{}') AS copy_outlets, coalesce(cp.urls, '{}') AS copy_urls
FROM alert_deliveries d
JOIN alerts al ON al.id = d.alert_id
JOIN watches w ON w.id = al.watch_id
JOIN watch_channels c ON c.id = d.channel_id
JOIN articles a ON a.id = al.article_id
JOIN outlets o ON o.name = a.outlet
LEFT JOIN LATERAL (SELECT array_agg(cp.outlet ORDER BY cp.id) AS outlets, array_agg(cp.url ORDER BY cp.id) AS urls
                   FROM articles cp WHERE cp.copy_of = a.id) AS cp ON true
WHERE d.claim = %(claim)s AND d.status = 'sending'
ORDER BY w.name, c.id, al.created_at, al.id

-- sending_claims --
-- the claims of deliveries being sent now (start-up looks for those of dead drainers on this host)
SELECT DISTINCT claim FROM alert_deliveries WHERE status = 'sending' AND claim IS NOT NULL

-- release_delivery_claims --
-- give deliveries claimed by a dead drainer back at once instead of after their lease; the
-- attempt it counted stays counted
UPDATE alert_deliveries SET status = 'pending', lease_until = NULL, claim = NULL
WHERE claim = ANY(%(claims)s) AND status = 'sending'

-- mark_deliveries_sent --
-- record a successful send (only while the claim is still ours)
UPDATE alert_deliveries SET status = 'sent', sent_at = coalesce(%(now)s::timestamptz, now()), lease_until = NULL,
    last_error = NULL
WHERE id = ANY(%(ids)s) AND claim = %(claim)s AND status = 'sending'

-- mark_deliveries_failed --
-- record a failed send: retry after an exponential backoff, or give up after the last attempt
UPDATE alert_deliveries SET
    status = CASE WHEN attempts >= %(max_attempts)s THEN 'failed' ELSE 'pending' END,
    due_at = coalesce(%(now)s::timestamptz, now()) + least(%(backoff)s * power(2, attempts - 1), %(max_backoff)s),
    lease_until = NULL,
    last_error = %(error)s
WHERE id = ANY(%(ids)s) AND claim = %(claim)s AND status = 'sending'

-- retry_failed_deliveries --
-- give deliveries that ran out of attempts a fresh set, due now
UPDATE alert_deliveries d SET status = 'pending', attempts = 0, due_at = coalesce(%(now)s::timestamptz, now())
FROM alerts al JOIN watches w ON w.id = al.watch_id
WHERE al.id = d.alert_id AND d.status = 'failed' AND (%(watch)s::text IS NULL OR w.name = %(watch)s)
RETURNING d.id

-- recent_deliveries --
-- the newest deliveries with their outcome (channels masked)
SELECT d.id, d.status, d.attempts, d.due_at, d.sent_at, d.last_error, d.created_at, al.kind,
       w.name AS watch, c.masked AS channel, a.id AS article_id, a.outlet, a.title
FROM alert_deliveries d
JOIN alerts al ON al.id = d.alert_id
JOIN watches w ON w.id = al.watch_id
JOIN watch_channels c ON c.id = d.channel_id
JOIN articles a ON a.id = al.article_id
WHERE (%(status)s::text IS NULL OR d.status = %(status)s) AND (%(watch)s::text IS NULL OR w.name = %(watch)s)
ORDER BY d.created_at DESC, d.id DESC
LIMIT %(limit)s

-- watch_alerts --
-- a watch's alerts, newest first, with snippets and the copies that joined each story (Atom feed)
SELECT al.id AS alert_id, al.kind, al.created_at, a.id AS article_id, a.url, a.outlet, a.title,
       a.published_at, a.fetched_at,
       CASE WHEN a.search_cjk IS NOT NULL THEN cjk_headline(a.text, w.terms_cjk, '**', '**', 160)
            ELSE alert_snippet(a.text, a.language, w.query_en, w.query_simple) END AS snippet,
       coalesce(cp.outlets, '{}') AS copy_outlets, coalesce(cp.urls, '{}') AS copy_urls
FROM alerts al JOIN watches w ON w.id = al.watch_id JOIN articles a ON a.id = al.article_id
LEFT JOIN LATERAL (SELECT array_agg(cp.outlet ORDER BY cp.id) AS outlets, array_agg(cp.url ORDER BY cp.id) AS urls
                   FROM articles cp WHERE cp.copy_of = a.id) AS cp ON true
WHERE w.name = %(name)s
ORDER BY al.created_at DESC, al.id DESC
LIMIT %(limit)s

-- copies_of --
-- the copies of some originals: which outlet carried each, where, how similar
SELECT c.copy_of AS original_id, c.id, c.outlet, c.url, c.similarity, c.published_at
FROM articles c
WHERE c.copy_of = ANY(%(ids)s)
ORDER BY c.copy_of, coalesce(c.published_at, c.fetched_at), c.id

-- insert_bands --
-- index an article's LSH band keys
INSERT INTO article_bands (band_key, article_id, at)
SELECT k, %(article_id)s, %(at)s FROM unnest(%(band_keys)s::bigint[]) AS k

-- delete_bands --
-- forget an article's LSH band keys (its text changed)
DELETE FROM article_bands WHERE article_id = %(article_id)s

-- story_candidates --
-- originals within the window around a time whose event vector has one of the probe terms
-- (GIN probes): the most shared probe terms first. An original that became a copy (an earlier
-- original arrived late) no longer counts: its new original stands for the text, in its story.
SELECT v.article_id, a.story_id, v.terms, v.weights
FROM story_vectors v JOIN articles a ON a.id = v.article_id
WHERE v.terms && %(probe)s::bigint[]
  AND a.copy_of IS NULL
  AND v.at BETWEEN %(around)s::timestamptz - %(window)s AND %(around)s::timestamptz + %(window)s
  AND v.article_id <> %(id)s
ORDER BY cardinality(ARRAY(SELECT unnest(v.terms) INTERSECT SELECT unnest(%(probe)s::bigint[]))) DESC, v.article_id
LIMIT %(limit)s

-- insert_story_vector --
-- keep an original's event vector
INSERT INTO story_vectors (article_id, at, terms, weights)
VALUES (%(article_id)s, %(at)s, %(terms)s, %(weights)s)
ON CONFLICT (article_id) DO UPDATE SET at = EXCLUDED.at, terms = EXCLUDED.terms, weights = EXCLUDED.weights

-- term_frequencies --
-- document frequencies of some terms (term 0: the number of documents)
SELECT term, df FROM term_df WHERE term = ANY(%(terms)s::bigint[])

-- count_terms --
-- one more document containing each of these terms (include 0 to count the document)
INSERT INTO term_df (term, df)
SELECT t, 1 FROM unnest(%(terms)s::bigint[]) AS t
ON CONFLICT (term) DO UPDATE SET df = term_df.df + 1

-- set_story --
-- put an article (and its copies) in a story
UPDATE articles SET story_id = %(story_id)s
WHERE id = %(id)s OR copy_of = %(id)s

-- reset_dedupe --
-- forget every copy and story link, wire attribution and index entry (rebuild from scratch)
WITH cleared AS (
    UPDATE articles SET copy_of = NULL, similarity = NULL, story_id = NULL, wire_service = NULL
    WHERE copy_of IS NOT NULL OR similarity IS NOT NULL OR story_id IS NOT NULL OR wire_service IS NOT NULL
    RETURNING id
)
SELECT count(*) FROM cleared

-- clear_dedupe_index --
-- empty the LSH, event-vector and term-frequency tables (rebuild from scratch)
TRUNCATE article_bands, story_vectors, term_df

-- count_articles --
-- how many articles the archive holds
SELECT count(*) FROM articles

-- articles_after --
-- the next batch of articles in storage order, as the dedupe rebuild re-reads them
SELECT a.id, a.url, a.outlet, a.title, a.text, a.authors, a.published_at, a.fetched_at, a.language,
       a.text_hash, o.wire
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE a.id > %(after)s
ORDER BY a.id
LIMIT %(limit)s

-- link_summary --
-- copies, originals and stories of more than one original, across the archive
SELECT (count(*) FILTER (WHERE copy_of IS NOT NULL))::int AS copies,
       (count(*) FILTER (WHERE copy_of IS NULL))::int AS originals,
       (SELECT count(*) FROM (SELECT story_id FROM articles WHERE copy_of IS NULL AND story_id IS NOT NULL
                              GROUP BY story_id HAVING count(*) > 1) s)::int AS stories,
       (count(*) FILTER (WHERE wire_service IS NOT NULL))::int AS wire_attributed
FROM articles

-- listen_articles --
-- receive the wirewatch_articles notifications on this connection (drainers wake on them)
LISTEN wirewatch_articles

-- set_dedupe_fields --
-- what the dedupe decided about one article: fingerprint, wire service, copy and story links
UPDATE articles SET text_hash = %(text_hash)s, wire_service = %(wire_service)s, copy_of = %(copy_of)s,
                    similarity = %(similarity)s, story_id = %(story_id)s
WHERE id = %(id)s

-- run_publication_delays --
-- seconds from publication to storage of each article a run stored (for the delay metric)
SELECT extract(epoch FROM a.fetched_at - a.published_at)::float8 AS seconds
FROM articles a
WHERE a.crawl_run_id = %(id)s AND a.published_at IS NOT NULL AND a.published_at <= a.fetched_at

-- count_extraction_yield --
-- add one extracted page to its run's yield: which of title, body, date and author it gave
UPDATE crawl_runs SET
    pages_extracted = pages_extracted + 1,
    with_title = with_title + %(title)s,
    with_body = with_body + %(body)s,
    with_date = with_date + %(date)s,
    with_author = with_author + %(author)s
WHERE id = %(id)s

-- recent_run_yields --
-- each outlet's latest finished runs, newest first, at most %(runs)s per outlet, with their yield
SELECT outlet, id, kind, started_at, finished_at, status, pages_fetched, articles_stored, pages_skipped,
       pages_extracted, with_title, with_body, with_date, with_author, links_skipped, pages_not_stored
FROM (
    SELECT r.*, row_number() OVER (PARTITION BY r.outlet ORDER BY r.started_at DESC, r.id DESC) AS n
    FROM crawl_runs r
    WHERE r.status <> 'running'
) ranked
WHERE n <= %(runs)s
ORDER BY outlet, started_at DESC, id DESC

-- reextract_ids --
-- ids of the articles with a stored page, of one outlet (or all), fetched since a time (or ever)
SELECT a.id
FROM articles a JOIN raw_pages p ON p.article_id = a.id
WHERE (%(outlet)s::text IS NULL OR a.outlet = %(outlet)s)
  AND (%(since)s::timestamptz IS NULL OR p.fetched_at >= %(since)s)
ORDER BY a.id

-- get_extraction --
-- an article's extracted fields, with what re-extracting and re-linking it needs
SELECT a.id, a.url, a.outlet, o.wire, a.fetched_at, a.title, a.text, a.authors, a.published_at,
       a.updated_at, a.language, a.description, a.section, a.tags, a.image_url, a.site_name,
       a.canonical_url, a.extractor
FROM articles a JOIN outlets o ON o.name = a.outlet
WHERE a.id = %(id)s

-- update_extraction --
-- replace an article's extracted fields in place (the search column follows)
UPDATE articles SET
    title = %(title)s, text = %(text)s, authors = %(authors)s, published_at = %(published_at)s,
    updated_at = %(updated_at)s, language = %(language)s, description = %(description)s,
    section = %(section)s, tags = %(tags)s, image_url = %(image_url)s, site_name = %(site_name)s,
    canonical_url = %(canonical_url)s, extractor = %(extractor)s, extracted_at = now(),
    search_cjk = %(search_cjk)s::tsvector
WHERE id = %(id)s

-- forget_source_validators --
-- drop an outlet's validators, so its next poll downloads and parses every source again
DELETE FROM source_validators WHERE outlet = %(outlet)s

-- lease_owners_like --
-- the processes holding leases whose owner id starts with a prefix (this host's, on start-up)
SELECT DISTINCT lease_owner FROM outlets WHERE lease_owner LIKE %(prefix)s || '%%'

-- last_article_id --
-- the highest article id (bulk loads compute the ids COPY will assign after it)
SELECT coalesce(max(id), 0) FROM articles

-- copy_articles --
-- bulk load of articles (bench/dedupe.py's synthetic archives)
COPY articles (url, outlet, title, text, published_at, language, text_hash) FROM STDIN

-- copy_bands --
-- bulk load of LSH band keys (bench/dedupe.py's synthetic archives)
COPY article_bands (band_key, article_id, at) FROM STDIN

-- archive_totals --
-- the whole archive: articles, syndicated copies, stories (events reported more than once), database size
SELECT count(*) AS articles, count(copy_of) AS copies, count(DISTINCT story_id) AS stories,
       pg_database_size(current_database()) AS database_bytes
FROM articles

-- settle_bulk_load --
-- after a bulk load: visibility map, statistics (outside a transaction; bench/dedupe.py)
VACUUM (ANALYZE) articles, article_bands

-- search_page --
-- one page of a web-search query (db/search.py `search`; the match: archive_match, 0009) over a
-- bounded pool: the newest %(pool)s matching articles, so that a term found in half the archive
-- costs about what a rare one does. The pool comes from the GIN index, sorted by date: `windowed`
-- asks it only for the days of a window (archive_window, 0011: from %(window)s to
-- %(window_end)s, the newest articles db/search.py expects to hold the pool), and `bitmapped`
-- for every match when there is no window (NULL) or it held fewer than the pool.
-- Either way the pool is the same rows. A matching copy shows as its original once unless expand.
-- Relevance (weighted by recency) ranks the pool. Date order is exact for the results dated after
-- the pool's oldest article (`complete` of them; every result of a pool that was not cut): a copy
-- is never older than its original, so no result of that span can be missing from the pool.
-- The query is a parameter, never spliced, and websearch_to_tsquery accepts any text. Snippets
-- (costly) only for the page's rows, matched terms between chr(2) and chr(3). `pooled` equal to
-- %(pool)s means the pool was cut; its oldest date (`pool_oldest`) then estimates the matches.
WITH q AS (
    SELECT websearch_to_tsquery('english', %(query)s) AS en,
           websearch_to_tsquery('simple', %(query)s) AS simple,
           %(cjk)s::tsquery AS cjk  -- db/bigrams.build_query: the same query over the bigram column (0008)
), windowed AS MATERIALIZED (
    -- a query with a phrase (%(phrase)s): its candidates without word order (phrase_free, 0010),
    -- newest first, each rechecked for the phrase (a read of its tsvector) until the pool is full.
    -- The filters are written so that no other index joins the window's bitmap: the window's days
    -- narrow it already, and a date or outlet index would add all its rows (18 ms for half a year).
    SELECT c.id, c.copy_of, c.at, c.search, c.search_cjk, c.language
    FROM (SELECT a.id, a.copy_of, coalesce(a.published_at, a.fetched_at) AS at, a.search, a.search_cjk, a.language
          FROM articles a
          WHERE %(window)s::timestamptz IS NOT NULL
            AND a.search @@ phrase_free(archive_window(%(query)s, %(cjk)s::tsquery, %(window)s::timestamptz,
                                                       %(window_end)s::timestamptz, %(outlet)s, %(months)s))
            AND archive_filter(a.language, a.outlet || '', coalesce(a.published_at, a.fetched_at) + interval '0 s',
                               %(outlet)s, %(language)s, %(since)s, %(until)s)
          -- no index has this order, which leaves the planner the GIN bitmap and a (top-N) sort
          ORDER BY coalesce(a.published_at, a.fetched_at) + interval '0 s' DESC, a.id DESC
          LIMIT CASE WHEN %(phrase)s THEN NULL ELSE %(pool)s END
          OFFSET 0) c  -- keeps the recheck out here, after the sort
    WHERE NOT %(phrase)s OR c.search @@ archive_query(%(query)s, %(cjk)s::tsquery)
    LIMIT %(pool)s
), bitmapped AS MATERIALIZED (  -- every match: no window, or one that held fewer than the pool
    SELECT c.id, c.copy_of, c.at, c.search, c.search_cjk, c.language
    FROM (SELECT a.id, a.copy_of, coalesce(a.published_at, a.fetched_at) AS at, a.search, a.search_cjk, a.language
          FROM articles a
          WHERE (%(window)s::timestamptz IS NULL OR (SELECT count(*) FROM windowed) < %(pool)s)
            AND a.search @@ archive_candidates(%(query)s, %(cjk)s::tsquery, %(dominant)s)
            AND archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                               %(outlet)s, %(language)s, %(since)s, %(until)s)
          ORDER BY coalesce(a.published_at, a.fetched_at) + interval '0 s' DESC, a.id DESC
          LIMIT CASE WHEN %(phrase)s THEN NULL ELSE %(pool)s END
          OFFSET 0) c
    WHERE NOT %(phrase)s OR c.search @@ archive_query(%(query)s, %(cjk)s::tsquery)
    LIMIT %(pool)s
), pool AS MATERIALIZED (
    SELECT * FROM windowed WHERE (SELECT count(*) FROM windowed) = %(pool)s
    UNION ALL
    SELECT * FROM bitmapped
), shown AS (
    -- a matching copy stands for its original only where the original matches as well (query
    -- and filters): `lavrov -kyodo` must not show Kyodo's report because its copies match. An
    -- original in the pool matches; one outside it is asked (older than the pool, or no match).
    SELECT CASE WHEN %(expand)s OR r.copy_of IS NULL THEN r.id
                WHEN r.copy_of IN (SELECT id FROM pool) THEN r.copy_of
                WHEN EXISTS (
                    SELECT 1 FROM articles o
                    WHERE o.id = r.copy_of
                      AND archive_match(o.search, o.language, o.outlet, coalesce(o.published_at, o.fetched_at),
                                        %(query)s, %(cjk)s::tsquery, %(outlet)s, %(language)s, %(since)s, %(until)s))
                THEN r.copy_of ELSE r.id END AS id,
           max(CASE WHEN %(by_date)s THEN 0  -- no ranking for date order
                    WHEN r.search_cjk IS NOT NULL THEN ts_rank_cd(r.search_cjk, q.cjk, 32)
                    ELSE ts_rank_cd(r.search, CASE WHEN r.language LIKE 'en%%' THEN q.en ELSE q.simple END, 32)
               END) AS rank
    FROM pool r, q  -- the pool carries what ranking reads (a tsvector as its TOAST pointer)
    GROUP BY 1
), page AS (
    SELECT a.id, a.url, a.outlet, a.title, a.published_at, a.fetched_at, a.language, a.copy_of, a.story_id,
           a.wire_service, s.rank, coalesce(a.published_at, a.fetched_at) AS at, count(*) OVER () AS shown_total,
           count(*) FILTER (WHERE coalesce(a.published_at, a.fetched_at) > (SELECT min(at) FROM pool)) OVER ()
               AS complete,
           -- recency: full weight today, half at 30 days, a third at 60 ...
           s.rank * (1 + 1 / (1 + greatest(0, extract(epoch FROM now() - coalesce(a.published_at, a.fetched_at)))
                                  / 2592000.0)) AS score
    FROM shown s JOIN articles a ON a.id = s.id
    ORDER BY CASE WHEN %(by_date)s THEN coalesce(a.published_at, a.fetched_at) END DESC NULLS LAST, score DESC,
             coalesce(a.published_at, a.fetched_at) DESC, a.id DESC
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT p.id, p.url, p.outlet, p.title, p.published_at, p.fetched_at, p.language, p.copy_of, p.story_id,
       p.wire_service, p.rank, p.score::float8 AS score, p.shown_total, p.complete, c.pooled, c.pool_oldest,
       CASE WHEN a.search_cjk IS NOT NULL THEN cjk_headline(a.text, %(cjk_terms)s, chr(2), chr(3), 120)
            WHEN strpos(near.snippet, chr(2)) > 0 OR octet_length(near.part) = octet_length(a.text) THEN near.snippet
            ELSE ts_headline(h.config, a.text, h.query, h.options) END AS snippet
-- one row with NULLs (and `pooled`) when the page is empty: db/search.py sees whether the pool was cut
FROM (SELECT count(*) AS pooled, min(at) AS pool_oldest FROM pool) c
     LEFT JOIN (page p JOIN articles a ON a.id = p.id) ON true, q,
     LATERAL (SELECT CASE WHEN p.language LIKE 'en%%' THEN 'english'::regconfig ELSE 'simple'::regconfig END AS config,
                     CASE WHEN p.language LIKE 'en%%' THEN q.en ELSE q.simple END AS query,
                     'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                     || ', MaxWords=28, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "' AS options) h,
     -- the neighbourhood of a phrase or word first (text_near, 0012: 500 characters, the length of
     -- two fragments with some words before); the whole text when that part was not all of it and
     -- marks nothing (octet_length of a stored text reads no more than its header)
     LATERAL (SELECT part, ts_headline(h.config, part, h.query, h.options) AS snippet
              FROM (SELECT CASE WHEN a.search_cjk IS NULL THEN text_near(a.text, %(anchors)s, 500) END AS part
                    OFFSET 0) n) near  -- OFFSET 0: one text_near, not one per use of `part`
ORDER BY CASE WHEN %(by_date)s THEN p.at END DESC NULLS LAST, p.score DESC, p.at DESC, p.id DESC

-- search_estimate --
-- the planner's estimates, in one plan (db/search.py `Estimate`): the articles the outlet and dates
-- leave (what a window's date lookup counts: no index has the language), the articles every
-- filter leaves, the matching articles (a total when the pool was cut), and the matches before
-- the filters (what a GIN bitmap without a window fetches: no index applies the filters to it)
EXPLAIN (FORMAT JSON)
SELECT 1 FROM articles a
WHERE archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                     %(outlet)s, NULL, %(since)s, %(until)s)
UNION ALL
SELECT 1 FROM articles a
WHERE archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                     %(outlet)s, %(language)s, %(since)s, %(until)s)
UNION ALL
SELECT 1 FROM articles a
WHERE archive_match(a.search, a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                    %(query)s, %(cjk)s::tsquery, %(outlet)s, %(language)s, %(since)s, %(until)s)
UNION ALL
SELECT 1 FROM articles a
WHERE a.search @@ archive_candidates(%(query)s, %(cjk)s::tsquery, NULL)

-- search_filtered --
-- the planner's count of the articles every filter leaves (search_estimate's second branch) from a
-- pool's oldest date on: what db/search.py `matches_of_pool` extrapolates from
EXPLAIN (FORMAT JSON)
SELECT 1 FROM articles a
WHERE archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                     %(outlet)s, %(language)s, greatest(%(since)s::timestamptz, %(pool_oldest)s::timestamptz),
                     %(until)s)

-- search_forms --
-- the planner's count of the articles of each form (its marker lexeme, 0009), in db/search.py FORMS
-- order: which form every match is better restricted to by the absence of the others' (0012)
EXPLAIN (FORMAT JSON)
SELECT 1 FROM articles a WHERE a.search @@ '''~en'''::tsquery
UNION ALL
SELECT 1 FROM articles a WHERE a.search @@ '''~simple'''::tsquery
UNION ALL
SELECT 1 FROM articles a WHERE a.search @@ '''~cjk'''::tsquery

-- search_window --
-- the dates of the newest and the oldest article among an outlet's articles (every outlet's when
-- NULL) in a date range, and of the one %(skip)s places below the newest unless %(skip)s is NULL:
-- where a window of that many articles begins (db/search.py `window_for`). Read from
-- articles_recent_idx or articles_outlet_recent_idx alone (0011), one entry a skipped article.
SELECT (SELECT coalesce(a.published_at, a.fetched_at) FROM articles a
        WHERE archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                             %(outlet)s, NULL, %(since)s, %(until)s)
        ORDER BY coalesce(a.published_at, a.fetched_at) DESC LIMIT 1) AS newest,
       (SELECT coalesce(a.published_at, a.fetched_at) FROM articles a
        WHERE archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                             %(outlet)s, NULL, %(since)s, %(until)s)
        ORDER BY coalesce(a.published_at, a.fetched_at) LIMIT 1) AS first,
       (SELECT coalesce(a.published_at, a.fetched_at) FROM articles a
        WHERE %(skip)s::bigint IS NOT NULL
          AND archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                             %(outlet)s, NULL, %(since)s, %(until)s)
        ORDER BY coalesce(a.published_at, a.fetched_at) DESC OFFSET %(skip)s LIMIT 1) AS skipped

-- matching_originals --
-- every result of a query, an original standing for its matching copies, in search_page's date order
SELECT o.id
FROM (SELECT DISTINCT CASE WHEN a.copy_of IS NOT NULL AND EXISTS (  -- as search_page folds
                               SELECT 1 FROM articles c
                               WHERE c.id = a.copy_of
                                 AND archive_match(c.search, c.language, c.outlet, coalesce(c.published_at, c.fetched_at),
                                                   %(query)s, %(cjk)s::tsquery, %(outlet)s, %(language)s, %(since)s,
                                                   %(until)s))
                           THEN a.copy_of ELSE a.id END AS id
      FROM articles a
      WHERE archive_match(a.search, a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                          %(query)s, %(cjk)s::tsquery, %(outlet)s, %(language)s, %(since)s, %(until)s)) m
JOIN articles o ON o.id = m.id
ORDER BY coalesce(o.published_at, o.fetched_at) DESC, o.id DESC
LIMIT %(limit)s

-- story_page --
-- stories (reports of one event with their copies; an article no other report joined is a story
-- of its own) with an article matching the query (every story when the query is NULL), newest
-- first, from the newest %(pool)s matching articles: a story first published after the oldest of
-- them cannot be missing, so the first `complete` stories are exact (db/search.py grows the pool
-- until they hold the page). One row of NULLs with `pooled` when the page is empty.
WITH walked AS MATERIALIZED (  -- every story (no query): the newest articles, by the date index
    SELECT coalesce(a.story_id, a.copy_of, a.id) AS story, coalesce(a.published_at, a.fetched_at) AS at
    FROM articles a
    WHERE %(query)s::text IS NULL
      AND archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                         %(outlet)s, %(language)s, %(since)s, %(until)s)
    ORDER BY coalesce(a.published_at, a.fetched_at) DESC, a.id DESC
    LIMIT %(pool)s
), windowed AS MATERIALIZED (  -- a query: the two ways to the pool of search_page
    SELECT c.story, c.at
    FROM (SELECT coalesce(a.story_id, a.copy_of, a.id) AS story, coalesce(a.published_at, a.fetched_at) AS at,
                 a.search
          FROM articles a
          WHERE %(query)s::text IS NOT NULL AND %(window)s::timestamptz IS NOT NULL
            AND a.search @@ phrase_free(archive_window(%(query)s, %(cjk)s::tsquery, %(window)s::timestamptz,
                                                       %(window_end)s::timestamptz, %(outlet)s, %(months)s))
            AND archive_filter(a.language, a.outlet || '', coalesce(a.published_at, a.fetched_at) + interval '0 s',
                               %(outlet)s, %(language)s, %(since)s, %(until)s)
          ORDER BY coalesce(a.published_at, a.fetched_at) + interval '0 s' DESC, a.id DESC
          LIMIT CASE WHEN %(phrase)s THEN NULL ELSE %(pool)s END
          OFFSET 0) c
    WHERE NOT %(phrase)s OR c.search @@ archive_query(%(query)s, %(cjk)s::tsquery)
    LIMIT %(pool)s
), bitmapped AS MATERIALIZED (
    SELECT c.story, c.at
    FROM (SELECT coalesce(a.story_id, a.copy_of, a.id) AS story, coalesce(a.published_at, a.fetched_at) AS at,
                 a.search
          FROM articles a
          WHERE %(query)s::text IS NOT NULL
            AND (%(window)s::timestamptz IS NULL OR (SELECT count(*) FROM windowed) < %(pool)s)
            AND a.search @@ archive_candidates(%(query)s, %(cjk)s::tsquery, %(dominant)s)
            AND archive_filter(a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                               %(outlet)s, %(language)s, %(since)s, %(until)s)
          ORDER BY coalesce(a.published_at, a.fetched_at) + interval '0 s' DESC, a.id DESC
          LIMIT CASE WHEN %(phrase)s THEN NULL ELSE %(pool)s END
          OFFSET 0) c
    WHERE NOT %(phrase)s OR c.search @@ archive_query(%(query)s, %(cjk)s::tsquery)
    LIMIT %(pool)s
), pool AS MATERIALIZED (
    SELECT * FROM walked
    UNION ALL
    SELECT * FROM windowed WHERE (SELECT count(*) FROM windowed) = %(pool)s
    UNION ALL
    SELECT * FROM bitmapped
), page AS (
    SELECT h.story AS story_id,
           min(coalesce(a.published_at, a.fetched_at)) AS first_published,
           (count(*) FILTER (WHERE a.copy_of IS NULL))::int AS reports,
           (count(*) FILTER (WHERE a.copy_of IS NOT NULL))::int AS copies,
           array_agg(DISTINCT a.outlet ORDER BY a.outlet) AS outlets,
           (array_agg(a.title ORDER BY a.copy_of IS NOT NULL, coalesce(a.published_at, a.fetched_at), a.id))[1] AS title,
           array_agg(a.id ORDER BY coalesce(a.published_at, a.fetched_at), a.id) FILTER (WHERE a.copy_of IS NULL)
               AS originals,
           sum(CASE WHEN min(coalesce(a.published_at, a.fetched_at)) > (SELECT min(at) FROM pool) THEN 1 END)
               OVER () AS complete
    FROM (SELECT DISTINCT story FROM pool) h JOIN articles a
      ON a.story_id = h.story OR (a.story_id IS NULL AND (a.id = h.story OR a.copy_of = h.story))
    GROUP BY h.story
    ORDER BY first_published DESC, h.story DESC
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT p.*, c.pooled
FROM (SELECT count(*) AS pooled FROM pool) c LEFT JOIN page p ON true
ORDER BY p.first_published DESC, p.story_id DESC

-- coverage_by_day --
-- articles matching a query (copies included: each outlet that carried it) per UTC day and outlet
SELECT (coalesce(a.published_at, a.fetched_at) AT TIME ZONE 'UTC')::date AS day, a.outlet,
       count(*)::int AS articles
FROM articles a
WHERE archive_match(a.search, a.language, a.outlet, coalesce(a.published_at, a.fetched_at),
                    %(query)s, %(cjk)s::tsquery, %(outlet)s, %(language)s, %(since)s, %(until)s)
GROUP BY 1, 2
ORDER BY 1, 2

-- statement_budget --
-- a time limit for the statements that follow in this transaction (db/search.py `coverage`), and the
-- one it replaces, to be put back after them
SELECT current_setting('statement_timeout') AS previous, set_config('statement_timeout', %(limit)s, true)

-- statement_budget_reset --
SELECT set_config('statement_timeout', %(limit)s, true)

-- newest_article --
-- the highest article id: what has arrived since a cached result was counted (web/pages.py)
SELECT coalesce(max(id), 0) FROM articles

-- article_detail --
-- one article with every extracted field, for `wirewatch show`, the API and the article page
SELECT id, url, outlet, title, text, authors, published_at, updated_at, fetched_at, language, description,
       copy_of, similarity, story_id, wire_service, section, tags, image_url, site_name, canonical_url,
       extractor, EXISTS (SELECT 1 FROM raw_pages r WHERE r.article_id = articles.id) AS has_raw_page
FROM articles WHERE id = %(id)s

-- story_articles --
-- every article of a story (by its key: story_id, or the lone original's id), earliest first
SELECT a.id, a.url, a.outlet, a.title, a.published_at, a.fetched_at, a.copy_of, a.wire_service, a.similarity
FROM articles a
WHERE a.story_id = %(story)s OR (a.story_id IS NULL AND (a.id = %(story)s OR a.copy_of = %(story)s))
ORDER BY coalesce(a.published_at, a.fetched_at), a.id

-- raw_pages_of --
-- the stored pages of some articles with their archive URL, for a WARC export
SELECT r.article_id, a.url AS article_url, r.url, r.status, r.content_type, r.headers, r.fetched_at, r.body_size,
       r.body_gzip
FROM raw_pages r JOIN articles a ON a.id = r.article_id
WHERE r.article_id = ANY(%(ids)s)
ORDER BY r.article_id

-- ping --
-- the database answers (`/healthz`)
SELECT 1

-- articles_to_bigram_index --
-- a batch of archived articles (after `after`) that need a bigram column (0008) and have none yet
SELECT id, title, description, text, language FROM articles
WHERE id > %(after)s AND search_cjk IS NULL AND (language LIKE 'ja%%' OR language LIKE 'zh%%' OR language IS NULL)
ORDER BY id
LIMIT %(limit)s

-- set_search_cjk --
-- store an article's bigram tsvector (db/bigrams.tsvector_text, a parameter cast, never spliced)
UPDATE articles SET search_cjk = %(search_cjk)s::tsvector WHERE id = %(id)s

-- watch_queries --
-- every watch's query text, for recomputing its bigram query
SELECT id, query FROM watches ORDER BY id

-- set_watch_cjk --
-- store a watch's bigram query and highlight terms (db/bigrams.build_query)
UPDATE watches SET query_cjk = %(query_cjk)s::tsquery, terms_cjk = %(terms_cjk)s WHERE id = %(id)s

-- copy_bigram_articles --
-- bulk load of Japanese articles with their bigram column (bench/japanese.py's labelled set)
COPY articles (url, outlet, title, text, published_at, language, text_hash, search_cjk) FROM STDIN

-- bigram_matches --
-- ids of the articles a bigram query matches (bench/japanese.py: the index side of the comparison)
SELECT id FROM articles WHERE search_cjk @@ %(cjk)s::tsquery

-- substring_scan --
-- ids of the articles whose title or text contains a string (bench/japanese.py's oracle: a full scan)
SELECT id FROM articles WHERE title LIKE '%%' || %(term)s || '%%' OR text LIKE '%%' || %(term)s || '%%'

-- copy_search_archive --
-- bulk load of a synthetic archive with ids, copy links and bigram columns (bench/search.py)
COPY articles (id, url, outlet, title, text, published_at, fetched_at, language, text_hash, copy_of, similarity, wire_service,
               search_cjk) FROM STDIN

-- article_secondary_indexes --
-- the articles table's non-unique indexes with their definitions (bench/search.py drops them for a bulk
-- load and builds them again from these definitions)
SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'articles'::regclass AND NOT i.indisunique AND NOT i.indisprimary
ORDER BY c.relname

-- ilike_scan --
-- articles whose title or text contains any of some patterns (ILIKE: no index can serve it), with
-- the search filters: bench/search.py's unindexed baseline next to search_page
SELECT count(*) FROM articles a
WHERE (a.title ILIKE ANY(%(patterns)s) OR a.text ILIKE ANY(%(patterns)s))
  AND (%(outlet)s::text IS NULL OR a.outlet = %(outlet)s)
  AND (%(since)s::timestamptz IS NULL OR coalesce(a.published_at, a.fetched_at) >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR coalesce(a.published_at, a.fetched_at) < %(until)s)

-- filter_values --
-- the archive's outlet names and the languages its outlets and articles declare (for "did you mean"
-- when a filter matches nothing; article languages only when one was asked about, see language_known)
SELECT 'outlet' AS kind, name AS value FROM outlets
UNION
SELECT 'language', language FROM outlets WHERE language IS NOT NULL

-- language_known --
-- whether any article has this language (no index on it: answered at once for a common one, a scan
-- for one no article has, run only when a search with it found nothing)
SELECT EXISTS (SELECT 1 FROM articles WHERE language = %(language)s)

-- query_reading --
-- how PostgreSQL's web-search parser reads a query, as tsquery text (`search` and `watch add` show it)
SELECT websearch_to_tsquery('english', %(query)s)::text
