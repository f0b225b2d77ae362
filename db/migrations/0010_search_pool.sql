-- A phrase's matches, found through the GIN index, are each rechecked against the article's
-- tsvector (read from TOAST, about 13 us at a million articles): the index knows which words an
-- article has, not where. `phrase_free` gives the same query with every phrase operator (<->,
-- <N>) made an AND: a superset of its matches that the index answers alone. Search pages sort
-- those candidates by date and recheck only the newest, until the pool is full (search_page,
-- db/queries.sql): "northern territories" in a million articles rechecked 11,700 candidates
-- for a pool of 1,000 before. Under a negation an AND is not a superset (!(a <-> b) holds where
-- a and b are apart, !(a & b) does not), so a query with a `!` is returned unchanged.
-- The query's text is cut into quoted lexemes (a quote or backslash inside one is doubled),
-- phrase operators and the rest, in one pass of the regular expression engine: a long query
-- (a thousand Japanese characters make ten thousand characters of bigrams) stays cheap.
-- IMMUTABLE: with a constant argument it runs once, at planning.
CREATE FUNCTION phrase_free(q tsquery) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN bool_or(left(token, 1) <> '''' AND strpos(token, '!') > 0) THEN q
                ELSE coalesce(string_agg(CASE WHEN token ~ '^<(-|[0-9]+)>$' THEN '&' ELSE token END, ''
                                         ORDER BY n)::tsquery, q) END
    FROM regexp_matches(q::text, '''(?:[^''\\]|''''|\\.)*''|<(?:-|[0-9]+)>|[^''<]+|.', 'g')
         WITH ORDINALITY AS m(match, n),
         LATERAL (SELECT match[1] AS token) t
$$;

-- A search filtered by outlet walks that outlet's newest articles (search_page `walked`) without
-- fetching every other outlet's on the way: at a million articles, `earthquake --outlet nhk`
-- (8% of the archive) took 217 ms with only articles_recent_idx, 119 ms with this.
CREATE INDEX IF NOT EXISTS articles_outlet_recent_idx ON articles (outlet, (coalesce(published_at, fetched_at)));

-- archive_query (0009) ANDs each form of a query with its marker lexeme. When the three forms are
-- one and the same tsquery (a name: `lavrov`, `kuril OR nhk`), and since every article carries
-- exactly one marker, the OR of the three arms is that form alone: the same matches, without
-- the GIN scan stepping through the markers' posting trees, which hold every article (17 ms
-- against 8 ms for the 19,000 matches of `lavrov` in a million articles). 0009's function stays,
-- renamed, for every other query.
ALTER FUNCTION archive_query(text, tsquery) RENAME TO archive_query_marked;
CREATE FUNCTION archive_query(query text, query_cjk tsquery) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    en tsquery := websearch_to_tsquery('english'::regconfig, coalesce(query, ''));
BEGIN
    IF numnode(en) > 0 AND en::text = websearch_to_tsquery('simple'::regconfig, query)::text
       AND en::text = query_cjk::text THEN
        RETURN en;
    END IF;
    RETURN archive_query_marked(query, query_cjk);
END
$$;
