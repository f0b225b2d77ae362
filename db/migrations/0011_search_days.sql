-- 0011_search_days: the GIN index knows each article's day (issue 7).
--
-- A relevance search ranks the newest 500 matches (db/search.py RANK_POOL). The GIN index gives
-- every match of a term in no particular order, so finding the newest meant either fetching each
-- match's row for its date (18,922 for `lavrov` in 1,000,000 articles) or walking the newest
-- articles by date and reading each one's tsvector from TOAST (about 7 us each: `earthquake`
-- checked 5,800 articles, 43 ms).
--
-- Now `search` also carries two lexemes naming the article's form (0009's marker) and UTC day,
-- alone and with its outlet ('~en19876', '~en19876@nhk'; no parser makes a `~`). A query whose
-- forms are each ANDed with the OR of their days in a window (archive_window) is answered by the
-- index for that window alone: GIN steps through the days' postings and skips ahead in the
-- terms', so the cost follows the window's size, not the term's frequency in the archive. The
-- form in the day lexeme does the marker's work, so the markers' postings (every article) are
-- not stepped through: `"bank of japan"` in a window of 12,700 articles took 32 ms with them and
-- 11 ms without. db/search.py chooses the window from the planner's estimates (the newest
-- articles that should hold the pool) and takes every match when it held too few.
--
-- PostgreSQL 16 cannot change a generated column's expression: `search` is dropped and added
-- again, which recomputes it for every article (22 minutes for a million on 2 cores).

-- The day of a moment, counted from 1970-01-01 UTC: the same whatever the session's time zone
-- (an interval's epoch, unlike a timestamptz's extract, is IMMUTABLE, so this inlines).
CREATE FUNCTION archive_day(at timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT floor(extract(epoch FROM at - timestamptz '1970-01-01 00:00:00+00') / 86400)::integer
$$;

-- An article's searchable form, as 0009 defined it: its bigram tsvector (Japanese, Chinese) or
-- its english or simple tsvector, weighted title A, description B, text C, with the marker lexeme
-- of the form ('~cjk', '~en', '~simple'); and now its day lexemes (archive_days).
CREATE FUNCTION archive_tsvector(title text, description text, body text, language text, search_cjk tsvector,
                                 at timestamptz, outlet text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
           WHEN search_cjk IS NOT NULL THEN search_cjk
           WHEN language LIKE 'en%' THEN
               setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
               || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
               || setweight(to_tsvector('english'::regconfig, body), 'C')
           ELSE
               setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
               || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'B')
               || setweight(to_tsvector('simple'::regconfig, body), 'C')
           END
           || array_to_tsvector(ARRAY['~' || f.form, '~' || f.form || archive_day(at),
                                      '~' || f.form || archive_day(at) || '@' || outlet])
    FROM (SELECT CASE WHEN search_cjk IS NOT NULL THEN 'cjk' WHEN language LIKE 'en%' THEN 'en' ELSE 'simple' END
                 AS form) f
$$;

DROP INDEX articles_search_idx;
ALTER TABLE articles DROP COLUMN search;
ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    archive_tsvector(title, description, text, language, search_cjk, coalesce(published_at, fetched_at), outlet)
) STORED;
CREATE INDEX articles_search_idx ON articles USING gin (search);

-- The OR of a form's day lexemes from since's day to until's (one outlet's when outlet is given),
-- as a tsquery. A lexeme is quoted for tsquery's input (a quote doubled, a backslash escaped),
-- whatever the outlet's name holds.
CREATE FUNCTION archive_days(form text, since timestamptz, until timestamptz, outlet text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg('''' || replace(replace('~' || form || d || coalesce('@' || outlet, ''), '\', '\\'),
                                      '''', '''''') || '''', ' | ' ORDER BY d)::tsquery
    FROM generate_series(archive_day(since), archive_day(until)) AS d
$$;

-- archive_query (0009) for the articles of a window of days: each form of the query ANDed with
-- the OR of its days instead of its marker (a day lexeme names the form). NULL without a window
-- or when no form has a lexeme. IMMUTABLE: with constant arguments it is computed at planning,
-- and the GIN index sees one constant tsquery.
CREATE FUNCTION archive_window(query text, query_cjk tsquery, since timestamptz, until timestamptz, outlet text)
RETURNS tsquery LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    en tsquery := websearch_to_tsquery('english'::regconfig, coalesce(query, ''));
    simple tsquery := websearch_to_tsquery('simple'::regconfig, coalesce(query, ''));
    joined tsquery;
BEGIN
    IF since IS NULL OR until IS NULL THEN
        RETURN NULL;
    END IF;
    IF numnode(en) > 0 THEN
        joined := en && archive_days('en', since, until, outlet);
    END IF;
    IF numnode(simple) > 0 THEN
        joined := CASE WHEN joined IS NULL THEN simple && archive_days('simple', since, until, outlet)
                       ELSE joined || (simple && archive_days('simple', since, until, outlet)) END;
    END IF;
    IF query_cjk IS NOT NULL AND numnode(query_cjk) > 0 THEN
        joined := CASE WHEN joined IS NULL THEN query_cjk && archive_days('cjk', since, until, outlet)
                       ELSE joined || (query_cjk && archive_days('cjk', since, until, outlet)) END;
    END IF;
    RETURN joined;
END
$$;

-- The window's first day is the date of the Nth newest article (db/search.py), read from the date
-- indexes alone (an index-only scan: 8,000 entries in 1 ms, where fetching the rows took 13 ms).
DROP INDEX articles_recent_idx;
CREATE INDEX articles_recent_idx ON articles ((coalesce(published_at, fetched_at))) INCLUDE (published_at, fetched_at);
DROP INDEX IF EXISTS articles_outlet_recent_idx;
CREATE INDEX articles_outlet_recent_idx ON articles (outlet, (coalesce(published_at, fetched_at)))
    INCLUDE (published_at, fetched_at);
-- An index-only scan reads the row for a page not marked all-visible, and new articles are the
-- newest pages: vacuum after 1% of the table was inserted rather than PostgreSQL's 20%.
ALTER TABLE articles SET (autovacuum_vacuum_insert_scale_factor = 0.01);

ANALYZE articles;
