-- 0009_search: one indexed condition per search, and one definition of it (issue 7).
--
-- Before: English articles were matched by `search` with the english form of the query, other
-- languages with the simple form, Japanese by `search_cjk` with the bigram form: an OR of three
-- arms, each also testing `language` and `search_cjk`. PostgreSQL cannot tell which arm a GIN
-- index hit came from, so it re-tested the whole OR on every matching row, decompressing each
-- row's tsvector (about 50 µs): 19,000 matches of "lavrov" in 1,000,000 articles cost 0.5 s.
--
-- Now `search` carries a marker lexeme naming its form ('~en', '~simple', '~cjk': no parser
-- produces a `~`), and archive_query() joins the three forms of a query, each ANDed with its
-- marker, into one tsquery: `search @@ archive_query(...)` is exactly the old three-arm test
-- (an arm can only match an article of its own form, negations included), answered by the GIN
-- index alone. Japanese/Chinese articles keep `search_cjk` (bigrams from db/bigrams.py, written
-- by the application) and `search` is computed from it.

ALTER TABLE articles DROP COLUMN search;
ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE
    WHEN search_cjk IS NOT NULL THEN search_cjk || '''~cjk'''::tsvector
    WHEN language LIKE 'en%' THEN
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, text), 'C')
        || '''~en'''::tsvector
    ELSE
        setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'B')
        || setweight(to_tsvector('simple'::regconfig, text), 'C')
        || '''~simple'''::tsvector
    END
) STORED;
CREATE INDEX articles_search_idx ON articles USING gin (search);

-- A web-search query as one tsquery over `search`: its english form for English articles, its
-- simple form for other languages, its bigram form (db/bigrams.build_query, NULL: none) for
-- Japanese and Chinese. A form without lexemes (only stop words) matches nothing, as before;
-- NULL when no form has any. IMMUTABLE, so a query's value is computed once, at planning.
CREATE FUNCTION archive_query(query text, query_cjk tsquery) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    en tsquery := websearch_to_tsquery('english'::regconfig, coalesce(query, ''));
    simple tsquery := websearch_to_tsquery('simple'::regconfig, coalesce(query, ''));
    joined tsquery;
BEGIN
    IF numnode(en) > 0 THEN
        joined := en && '''~en'''::tsquery;
    END IF;
    IF numnode(simple) > 0 THEN
        joined := CASE WHEN joined IS NULL THEN simple && '''~simple'''::tsquery
                       ELSE joined || (simple && '''~simple'''::tsquery) END;
    END IF;
    IF query_cjk IS NOT NULL AND numnode(query_cjk) > 0 THEN
        joined := CASE WHEN joined IS NULL THEN query_cjk && '''~cjk'''::tsquery
                       ELSE joined || (query_cjk && '''~cjk'''::tsquery) END;
    END IF;
    RETURN joined;
END
$$;

-- The filters: a NULL one does not filter. `at` is coalesce(published_at, fetched_at), the key of
-- articles_recent_idx.
CREATE FUNCTION archive_filter(language text, outlet text, at timestamptz,
                               want_outlet text, want_language text, since timestamptz, until timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (want_outlet IS NULL OR outlet = want_outlet)
       AND (want_language IS NULL OR language = want_language)
       AND (since IS NULL OR at >= since)
       AND (until IS NULL OR at < until)
$$;

-- "An article matches a search", for search pages, story lists, coverage charts, exports and
-- total estimates alike. One expression, so the planner inlines it: with the parameters known,
-- the tsquery is a constant served by articles_search_idx (selectivity from the column's
-- statistics) and the date range by articles_recent_idx, as if written in place.
CREATE FUNCTION archive_match(search tsvector, language text, outlet text, at timestamptz, query text,
                              query_cjk tsquery, want_outlet text, want_language text,
                              since timestamptz, until timestamptz)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT search @@ archive_query(query, query_cjk)
       AND archive_filter(language, outlet, at, want_outlet, want_language, since, until)
$$;

-- About `chars` characters of a text around the first of some words (lower-case) it contains, for
-- ts_headline, which parses all it is given: a page of 20 snippets of 4,000-character articles
-- cost more than the search itself. The whole text when it is short or holds none of the words
-- (an inflected form: "earthquakes" for the query "earthquake").
CREATE FUNCTION text_window(body text, words text[], chars integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    folded text;
    first integer := 0;
    found integer;
    word text;
BEGIN
    IF length(body) <= chars THEN
        RETURN body;
    END IF;
    folded := lower(body);
    FOREACH word IN ARRAY coalesce(words, '{}') LOOP
        found := strpos(folded, word);
        IF found > 0 AND (first = 0 OR found < first) THEN
            first := found;
        END IF;
    END LOOP;
    IF first = 0 THEN
        RETURN body;
    END IF;
    RETURN substr(body, greatest(1, first - chars / 4), chars);
END
$$;
