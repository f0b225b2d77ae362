-- 0007_views: documented views for people who query the archive with psql, and a read-only
-- role for analysts. Why: the tables carry dedupe machinery (copy links, story keys, band
-- keys) that every ad-hoc query would otherwise re-derive, and analysts should be able to
-- read the archive without any right to change it (or to see alert channel URLs, which hold
-- tokens). The README ("SQL for psql users") shows example queries over these views.

-- Originals (articles that are not a syndicated copy) with how many outlets republished them.
CREATE VIEW originals_with_copies AS
SELECT a.id, a.outlet, a.title, a.url, a.published_at, a.language, a.wire_service,
       coalesce(a.story_id, a.id) AS story,
       count(c.id)::int AS copies,
       coalesce(array_agg(c.outlet ORDER BY c.outlet) FILTER (WHERE c.id IS NOT NULL), '{}') AS copy_outlets
FROM articles a
LEFT JOIN articles c ON c.copy_of = a.id
WHERE a.copy_of IS NULL
GROUP BY a.id;
COMMENT ON VIEW originals_with_copies IS 'Articles that are no syndicated copy, with the number and outlets of their copies';

-- One row per story (reports of one event, with their copies; an original that no other report
-- joined is a story of its own), keyed like `wirewatch search --stories`.
CREATE VIEW story_articles AS
SELECT coalesce(a.story_id, a.copy_of, a.id) AS story, a.id, a.outlet, a.title, a.url, a.published_at,
       a.copy_of, a.copy_of IS NOT NULL AS is_copy
FROM articles a;
COMMENT ON VIEW story_articles IS 'Every article with the story it belongs to (story = the key of wirewatch search --stories)';

CREATE VIEW stories AS
SELECT story, min(coalesce(published_at, 'infinity')) AS first_published,
       (count(*) FILTER (WHERE NOT is_copy))::int AS reports,
       (count(*) FILTER (WHERE is_copy))::int AS copies,
       array_agg(DISTINCT outlet ORDER BY outlet) AS outlets,
       (array_agg(title ORDER BY is_copy, published_at, id))[1] AS title
FROM story_articles
GROUP BY story;
COMMENT ON VIEW stories IS 'Stories: first publication, reports (originals), copies, outlets and a title';

-- Articles per UTC day and outlet (copies included: each outlet that carried a story counts).
CREATE VIEW daily_coverage AS
SELECT (coalesce(published_at, fetched_at) AT TIME ZONE 'UTC')::date AS day, outlet,
       count(*)::int AS articles,
       (count(*) FILTER (WHERE copy_of IS NULL))::int AS originals,
       (count(*) FILTER (WHERE copy_of IS NOT NULL))::int AS copies
FROM articles
GROUP BY 1, 2;
COMMENT ON VIEW daily_coverage IS 'Articles per UTC day and outlet, with originals and copies apart';

-- The analysts' group role: read every archive table and view, nothing else. Roles belong to
-- the whole server, so it may exist already (another database of the same server); and a
-- database user without CREATEROLE (a managed service) skips this part with a notice rather
-- than failing the migration. Give a person access with:
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE wirewatch_analyst;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wirewatch_analyst') THEN
        CREATE ROLE wirewatch_analyst NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO wirewatch_analyst', current_database());
    GRANT USAGE ON SCHEMA public TO wirewatch_analyst;
    GRANT SELECT ON outlets, crawl_runs, articles, article_urls, raw_pages, originals_with_copies,
        story_articles, stories, daily_coverage TO wirewatch_analyst;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'wirewatch_analyst role not created (no CREATEROLE privilege): %', SQLERRM;
END
$$;
