-- 0008_japanese: exact Japanese search and watches with PostgreSQL core only (issue 10).
-- Why: the default parser reads a whole run of kana and kanji as one word, so `北方領土`
-- matched only a text where it stood alone between punctuation; the embedded server has no
-- pg_bigm, PGroonga or pg_trgm. Japanese (and Chinese) articles get a second tsvector of
-- character bigrams, computed in Python at store time (db/bigrams.py) because the query side
-- must tokenise exactly alike; queries are bigram phrases ('北方' <-> '方領' <-> '領土'). The
-- column is NULL for other articles, which keep `search`. Rows archived before this migration
-- are indexed by `wirewatch db reindex-japanese` (NULL until then: they match as before).

ALTER TABLE articles ADD COLUMN search_cjk tsvector;
CREATE INDEX articles_search_cjk_idx ON articles USING gin (search_cjk);

-- A watch's query in the same form (db/bigrams.build_query, written with the watch) and the
-- terms its alerts' snippets mark.
ALTER TABLE watches
    ADD COLUMN query_cjk tsquery,
    ADD COLUMN terms_cjk text[] NOT NULL DEFAULT '{}';

-- A snippet of a bigram-indexed text: about `chars` characters of its NFKC form around the first
-- of `terms` (lower-case, NFKC, as db/bigrams gives them) found, every term marked between
-- start_sel and stop_sel. ts_headline cannot do this: it marks whole parser words. The terms are
-- matched as literal strings (regex metacharacters escaped), case-insensitively.
CREATE FUNCTION cjk_headline(body text, terms text[], start_sel text, stop_sel text, chars integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    norm text := normalize(left(body, 20000), NFKC);
    folded text := lower(norm);
    first integer := 0;
    found integer;
    term text;
    pattern text;
    part text;
BEGIN
    FOREACH term IN ARRAY coalesce(terms, '{}') LOOP
        found := strpos(folded, term);
        IF found > 0 AND (first = 0 OR found < first) THEN
            first := found;
        END IF;
    END LOOP;
    part := substr(norm, greatest(1, first - chars / 3), chars);
    SELECT string_agg(regexp_replace(t, '([\\^$.|?*+()\[\]{}-])', '\\\1', 'g'), '|' ORDER BY length(t) DESC)
    INTO pattern FROM unnest(terms) AS t WHERE t <> '';
    IF pattern IS NULL THEN
        RETURN part;
    END IF;
    RETURN regexp_replace(part, '(' || pattern || ')', start_sel || '\1' || stop_sel, 'gi');
END
$$;
